// Reading a service's Prometheus metrics in tests: the exposition text as series -> value, so a test can
// check that exactly the counters an event should move have moved.

/** Anything with Fastify's inject: an app under test. */
interface Injectable {
  inject(url: string): PromiseLike<{ statusCode: number; body: string }>;
}

/** Every sample of the exposition text, keyed by series (name plus labels as printed). */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** GET /metrics of an app, parsed. */
export async function scrapeMetrics(app: Injectable): Promise<Map<string, number>> {
  const res = await app.inject('/metrics');
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  return parseMetrics(res.body);
}
