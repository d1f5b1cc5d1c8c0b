// Workshop mode: the sequence diagram of one real run, drawn on the server as SVG (no script, no CDN, nothing
// for the CSP to allow: presentation attributes only, no style attributes). Four lifelines, one per OAuth
// role (RFC 6749 §1.1); a step sent from one role to another is an arrow (answers dashed), a step a service
// took on its own (the authorization server checking PKCE, the resource server verifying a signature with
// its cached keys) is a note on its lifeline. Every text is XML-escaped: steps come from three services.
import { ROLES, type Outcome, type Role } from './inspector/store.js';

export interface DiagramStep {
  role: Role;
  to?: Role | undefined;
  title: string;
  outcome: Outcome;
}

const COLUMN = 200;
const LEFT = 110;
const TOP = 70;
const ROW = 36;
const NOTE_WIDTH = 188;

const x = (role: Role) => LEFT + ROLES.indexOf(role) * COLUMN;

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const colour = (outcome: Outcome) => (outcome === 'rejected' ? '#9b2c2c' : outcome === 'ok' ? '#2f6f4f' : '#3e4c59');

/** Is this step an answer (drawn dashed): a server replying to the client, or the AS redirecting back. */
function isAnswer(step: DiagramStep): boolean {
  return (
    step.role !== 'client' &&
    step.to !== undefined &&
    ROLES.indexOf(step.to) < ROLES.indexOf(step.role) &&
    step.role !== 'resource owner'
  );
}

export function renderSequenceDiagram(steps: readonly DiagramStep[]): string {
  const width = LEFT * 2 + COLUMN * (ROLES.length - 1);
  const height = TOP + Math.max(steps.length, 1) * ROW + 30;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="sequence" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="sequence-title" font-family="system-ui, sans-serif" font-size="12">`,
  );
  out.push(
    '<title id="sequence-title">Sequence diagram of this run across the resource owner, the client, the authorization server and the resource server</title>',
  );
  out.push('<defs>');
  for (const outcome of ['ok', 'rejected', 'info'] as const) {
    out.push(
      `<marker id="arrow-${outcome}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${colour(outcome)}"/></marker>`,
    );
  }
  out.push('</defs>');
  for (const role of ROLES) {
    const cx = x(role);
    out.push(`<line x1="${cx}" y1="48" x2="${cx}" y2="${height - 10}" stroke="#9aa5b1" stroke-dasharray="4 4"/>`);
    out.push(`<rect x="${cx - 85}" y="10" width="170" height="36" rx="6" fill="#ffffff" stroke="#3e4c59"/>`);
    out.push(`<text x="${cx}" y="33" text-anchor="middle" font-weight="bold" fill="#1f2933">${escapeXml(role)}</text>`);
  }
  steps.forEach((step, i) => {
    const y = TOP + i * ROW + ROW / 2;
    const n = i + 1;
    const stroke = colour(step.outcome);
    out.push(
      `<g class="step ${step.outcome}"><title>${escapeXml(`${n}. ${step.role}${step.to ? ` → ${step.to}` : ''}: ${step.title}`)}</title>`,
    );
    if (step.to && step.to !== step.role) {
      const x1 = x(step.role);
      const x2 = x(step.to);
      const dash = isAnswer(step) ? ' stroke-dasharray="6 4"' : '';
      out.push(
        `<line x1="${x1}" y1="${y + 6}" x2="${x2}" y2="${y + 6}" stroke="${stroke}" stroke-width="1.6"${dash} marker-end="url(#arrow-${step.outcome})"/>`,
      );
      const span = Math.abs(x2 - x1);
      const label = clip(`${n}. ${step.title}`, Math.max(24, Math.floor(span / 6.2)));
      out.push(`<text x="${(x1 + x2) / 2}" y="${y}" text-anchor="middle" fill="${stroke}">${escapeXml(label)}</text>`);
    } else {
      const cx = x(step.role);
      out.push(
        `<rect x="${cx - NOTE_WIDTH / 2}" y="${y - 11}" width="${NOTE_WIDTH}" height="24" rx="4" fill="${step.outcome === 'rejected' ? '#fbeaea' : '#fdf8e4'}" stroke="${stroke}"/>`,
      );
      out.push(
        `<text x="${cx}" y="${y + 5}" text-anchor="middle" fill="${stroke}">${escapeXml(clip(`${n}. ${step.title}`, 30))}</text>`,
      );
    }
    out.push('</g>');
  });
  if (steps.length === 0)
    out.push(
      `<text x="${width / 2}" y="${TOP + 20}" text-anchor="middle" fill="#616e7c">No steps recorded yet.</text>`,
    );
  out.push('</svg>');
  return out.join('\n');
}
