import t from 'tap';
import { escapeXml, renderSequenceDiagram } from '../../src/workshop/sequence-diagram.js';

t.test("four lifelines, arrows between roles, notes for a service's own steps", async (t) => {
  const svg = renderSequenceDiagram([
    { role: 'client', to: 'resource owner', title: '303 redirect to /authorize', outcome: 'info' },
    { role: 'client', to: 'authorization server', title: 'Token request', outcome: 'info' },
    { role: 'authorization server', title: 'PKCE verified (S256)', outcome: 'ok' },
    { role: 'authorization server', to: 'client', title: 'Token response: 200', outcome: 'ok' },
    { role: 'resource server', title: 'Signature verified <ES256> & "kid"', outcome: 'ok' },
    { role: 'resource server', to: 'client', title: '/photos: 401 invalid_token', outcome: 'rejected' },
  ]);
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.match(svg, /<\/svg>$/);
  for (const role of ['resource owner', 'client', 'authorization server', 'resource server']) {
    t.match(svg, `font-weight="bold" fill="#1f2933">${role}</text>`, `lifeline ${role}`);
  }
  t.equal((svg.match(/stroke-dasharray="4 4"/g) ?? []).length, 4, 'four dashed lifelines');
  t.equal((svg.match(/marker-end=/g) ?? []).length, 4, 'four arrows');
  t.equal((svg.match(/<rect x="[^"]+" y="[^"]+" width="188"/g) ?? []).length, 2, 'two notes');
  t.equal((svg.match(/stroke-dasharray="6 4"/g) ?? []).length, 2, 'the two answers are dashed');
  t.match(svg, '1. 303 redirect to /authorize', 'steps are numbered');
  t.match(svg, 'Signature verified &lt;ES256&gt; &amp; &quot;kid&quot;', 'text is escaped');
  t.notMatch(svg, '<ES256>');
  t.match(svg, 'marker-end="url(#arrow-rejected)"');
  t.notMatch(svg, /style=/, 'no style attributes: nothing for the CSP to allow');
  t.notMatch(svg, /<script/);
});

t.test('long titles are clipped, with the full text in a tooltip; an empty run says so', async (t) => {
  const long = 'x'.repeat(200);
  const svg = renderSequenceDiagram([{ role: 'authorization server', title: long, outcome: 'info' }]);
  t.match(svg, /x{20,}…<\/text>/);
  t.match(svg, `<title>1. authorization server: ${long}</title>`);
  t.match(renderSequenceDiagram([]), 'No steps recorded yet.');
  t.equal(escapeXml(`<a href='x'>&</a>`), '&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;');
});
