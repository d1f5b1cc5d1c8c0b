#!/usr/bin/env node
// `npm run workshop:listen`: catches the authorization response for the public client `workshop-cli`, whose
// registered redirect URI is http://127.0.0.1:8765/callback, and prints what came back so an attendee can
// redeem the code with curl. A few lines of node:http rather than a dependency: it only has to read one query.
//
//   npm run -s workshop:listen                  # keep listening, print each callback
//   npm run -s workshop:listen -- --once        # exit after the first callback (for scripts)
//   CALLBACK_PORT=8766 npm run -s workshop:listen
//
// Output, one `name=value` per line so a shell can pick values out with sed:
//   code=…  state=…  iss=…     (or error=…  error_description=…)
import http from 'node:http';

const port = Number(process.env.CALLBACK_PORT ?? 8765);
const once = process.argv.includes('--once');

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  if (url.pathname !== '/callback') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not the callback. Waiting on /callback.\n');
    return;
  }
  const lines = [];
  for (const name of ['code', 'state', 'iss', 'error', 'error_description']) {
    const value = url.searchParams.get(name);
    if (value !== null) lines.push(`${name}=${value}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  const ok = url.searchParams.has('code');
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  });
  const outcome = ok ? 'Got the code.' : 'The authorization server answered with an error.';
  res.end(`<!doctype html><title>Quartet workshop</title><p>${outcome} Go back to your terminal.</p>`);
  if (once) server.close();
});

server.on('error', (err) => {
  console.error(
    err.code === 'EADDRINUSE'
      ? `Port ${port} is already in use. Stop the other listener, or set CALLBACK_PORT.`
      : err.message,
  );
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.error(
    `Listening on http://127.0.0.1:${port}/callback${once ? ' (until the first callback)' : ''}; Ctrl-C to stop.`,
  );
});
