import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerRequestMetrics } from './request-metrics.js';

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What prom-client's own classes print for the same observations: the format our scrapers and dashboards know. */
async function referenceText(observations: ReadonlyArray<readonly [string, number, number]>): Promise<string> {
  const registry = new Registry();
  const requests = new Counter({
    name: 'strongroom_http_requests_total',
    help: 'HTTP API requests by route template and status code.',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'strongroom_http_request_duration_seconds',
    help: 'HTTP API request latency by route template.',
    labelNames: ['route'],
    buckets: BOUNDS,
    registers: [registry],
  });
  for (const [route, status, seconds] of observations) {
    requests.inc({ route, status: String(status) });
    latency.observe({ route }, seconds);
  }
  return registry.metrics();
}

async function ourText(observations: ReadonlyArray<readonly [string, number, number]>): Promise<string> {
  const registry = new Registry();
  const metrics = registerRequestMetrics(registry, BOUNDS);
  for (const [route, status, seconds] of observations) metrics.observe(route, status, seconds);
  return registry.metrics();
}

const lines = (text: string) => text.split('\n').sort();

describe('request metrics', () => {
  it('expose exactly what prom-client Counter and Histogram expose for the same observations', async () => {
    const observation = fc.tuple(
      fc.constantFrom('kv.data.read', 'kv.data.update', 'sys.health.read', 'unmatched'),
      fc.constantFrom(200, 204, 400, 403, 404, 500, 503),
      fc.oneof(fc.constantFrom(...BOUNDS, 0, 3, 10), fc.double({ min: 0, max: 5, noNaN: true })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
        // Sample order within a metric carries no meaning in the exposition format.
        expect(lines(await ourText(observations))).toEqual(lines(await referenceText(observations)));
      }),
      { numRuns: 150 },
    );
  });

  it('counts a value on a bucket bound into that bucket (le is inclusive)', async () => {
    const text = await ourText([['kv.data.read', 200, 0.001]]);
    expect(text).toContain('strongroom_http_request_duration_seconds_bucket{le="0.0005",route="kv.data.read"} 0');
    expect(text).toContain('strongroom_http_request_duration_seconds_bucket{le="0.001",route="kv.data.read"} 1');
    expect(text).toContain('strongroom_http_requests_total{route="kv.data.read",status="200"} 1');
  });

  it('refuses bounds that do not increase', () => {
    expect(() => registerRequestMetrics(new Registry(), [0.1, 0.1])).toThrow(/increase/);
  });
});
