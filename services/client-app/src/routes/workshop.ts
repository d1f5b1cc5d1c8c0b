// Workshop mode pages (registered only when WORKSHOP_MODE is on; otherwise these paths are plain 404s):
//   GET  /workshop/inspector        "What just happened?": this browser's flows, the selected one's steps merged
//                                   with the authorization server's and resource server's steps for its trace
//                                   (GET {server}/workshop/traces/:traceId), and a server-rendered SVG
//                                   sequence diagram of the run;
//   GET  /workshop/lab              "Break it, fix it": the switches, each with attack and defence, and the last result;
//   POST /workshop/lab/run          runs one switch (form with a CSRF token); 303 back to the lab,
//                                   or the result as JSON for `Accept: application/json`;
//   GET  /workshop/lab/client-metadata/mismatched
//                                   the "metadata-document-mismatch" switch's client metadata document, fetched
//                                   by the authorization server (its client_id is deliberately another URL).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ROLES, type Flow, type Step } from '../workshop/inspector/store.js';
import { runSwitch } from '../workshop/lab/run-context.js';
import { LAB_SWITCHES, UnknownSwitchError, findSwitch } from '../workshop/lab/switches/index.js';
import { DOCUMENT_PATH, mismatchedDocument } from '../workshop/lab/switches/metadata-document-mismatch.js';
import { redirectUri } from '../config.js';
import { TokenPool } from '../workshop/lab/token-pool.js';
import { fetchRemoteTrace, mergeSteps } from '../workshop/remote-traces.js';
import { renderSequenceDiagram } from '../workshop/sequence-diagram.js';
import { isTraceId } from '../workshop/trace.js';

const InspectorQuery = Type.Object(
  { trace: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: true },
);
const LabRunBody = Type.Object(
  { switch: Type.String({ maxLength: 64 }), _csrf: Type.String({ maxLength: 256 }) },
  { additionalProperties: true },
);

interface ViewStep extends Step {
  n: number;
  source: string;
  expiresIn?: number;
}

async function connectedBadge(request: FastifyRequest, reply: FastifyReply, app: FastifyInstance) {
  const connected = Boolean((await app.sessions.load(request))?.data.tokens);
  return { connected, csrfToken: connected ? reply.generateCsrf() : undefined };
}

export default async function workshopRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = app;
  const pool = new TokenPool();

  app.get('/workshop/inspector', { schema: { querystring: InspectorQuery } }, async (request, reply) => {
    const flows = app.inspector.flows(request);
    const wanted = request.query.trace;
    const flow: Flow | undefined = wanted && isTraceId(wanted) ? flows.find((f) => f.traceId === wanted) : flows[0];
    let steps: ViewStep[] = [];
    let remote: { service: string; available: boolean; reason?: string | undefined; count: number }[] = [];
    let diagram = '';
    if (flow) {
      const [as, rs] = await Promise.all([
        fetchRemoteTrace(config.AUTHORIZATION_SERVER, 'authorization server', flow.traceId),
        fetchRemoteTrace(config.RESOURCE_SERVER, 'resource server', flow.traceId),
      ]);
      remote = [as, rs].map((r) => ({
        service: r.service,
        available: r.available,
        reason: r.reason,
        count: r.steps.length,
      }));
      const clientSteps = flow.steps.map((s) => ({ ...s, source: 'client app' }));
      const merged = mergeSteps(
        clientSteps,
        as.steps.map((s) => ({ ...s, source: 'authorization server' })),
        rs.steps.map((s) => ({ ...s, source: 'resource server' })),
      );
      const now = Date.now() / 1000;
      steps = merged.map((s, i) => ({
        ...(s as Step & { source: string }),
        n: i + 1,
        ...(s.expiresAt !== undefined ? { expiresIn: Math.round(s.expiresAt - now) } : {}),
      }));
      diagram = renderSequenceDiagram(merged);
    }
    const badge = await connectedBadge(request, reply, app);
    return reply.header('cache-control', 'no-store').view('inspector.njk', {
      ...badge,
      flows: flows.map((f) => ({ traceId: f.traceId, label: f.label, startedAt: f.startedAt, selected: f === flow })),
      flow,
      steps,
      remote,
      diagram,
      roles: ROLES,
      labSwitch: flow?.lab ? findSwitch(flow.lab.switchId)?.meta : undefined,
    });
  });

  app.get('/workshop/lab', async (request, reply) => {
    // The lab page starts a session, as every page that offers a form did before it (and the badge needs one).
    const session = await app.sessions.loadOrCreate(request, reply);
    const flows = app.inspector.flows(request);
    const switches = LAB_SWITCHES.map((s) => {
      const last = flows.find((f) => f.lab?.switchId === s.id);
      return { ...s, last: last?.lab, traceId: last?.traceId };
    });
    return reply.header('cache-control', 'no-store').view('lab.njk', {
      connected: Boolean(session.data.tokens),
      csrfToken: reply.generateCsrf(),
      switches,
      victim: config.LAB_USERNAME,
      attacker: config.LAB_ATTACKER_USERNAME,
      otherResource: config.LAB_OTHER_RESOURCE,
    });
  });

  // Public, as a client ID metadata document is: the authorization server fetches it without credentials.
  app.get(DOCUMENT_PATH, async (_request, reply) =>
    reply
      .header('cache-control', 'no-store')
      .type('application/json')
      .send(mismatchedDocument(config, redirectUri(config))),
  );

  const wantsJson = (request: FastifyRequest) => /application\/json/.test(request.headers.accept ?? '');

  app.post(
    '/workshop/lab/run',
    { schema: { body: LabRunBody }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const lab = findSwitch(request.body.switch);
      if (!lab) throw new UnknownSwitchError(request.body.switch);
      const recorder = app.inspector.startFlow(request, reply, `Lab: ${lab.meta.title}`)!;
      const outcome = await runSwitch(lab, { config, oauthClient: app.oauthClient, pool }, recorder);
      recorder.flow.lab = outcome;
      request.log.info(
        { labSwitch: lab.meta.id, asExpected: outcome.asExpected, notRun: Boolean(outcome.notRun) },
        'lab switch run',
      );
      if (wantsJson(request))
        return reply.header('cache-control', 'no-store').send({ ...outcome, traceId: recorder.traceId });
      return reply.redirect(`/workshop/lab#${lab.meta.id}`, 303);
    },
  );
}
