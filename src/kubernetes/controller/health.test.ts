import { describe, expect, it } from 'vitest';
import { createInformerHealth, describeKubeError } from './health.js';

/** A clock the test moves by hand: readiness depends on how long a failure lasted, never on real time. */
function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('informer health', () => {
  it('is not ready before any informer is tracked, nor until every one has listed and is watching', () => {
    const c = clock();
    const health = createInformerHealth({ graceMs: 5_000, now: c.now });
    expect(health.readiness()).toEqual({ ready: false, reasons: ['informers not started yet'] });
    const es = health.track('externalsecrets');
    const stores = health.track('secretstores');
    stores.failed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), {}));
    expect(health.readiness()).toEqual({
      ready: false,
      reasons: [
        'externalsecrets: not listed and watching yet',
        'secretstores: not listed and watching yet (connect ECONNREFUSED 127.0.0.1:6443)',
      ],
    });
    es.watching();
    expect(health.readiness().reasons).toEqual([
      'secretstores: not listed and watching yet (connect ECONNREFUSED 127.0.0.1:6443)',
    ]);
    stores.watching();
    expect(health.readiness()).toEqual({ ready: true, reasons: [] });
  });

  it('tolerates a failing watch for the grace period, then reports it until the watch is back', () => {
    const c = clock();
    const health = createInformerHealth({ graceMs: 5_000, now: c.now });
    const es = health.track('externalsecrets');
    es.watching();
    es.failed({ code: 503 });
    c.advance(4_999);
    es.failed({ code: 503 }); // a retry failing again does not restart the grace
    expect(health.readiness().ready).toBe(true);
    c.advance(1);
    expect(health.readiness()).toEqual({
      ready: false,
      reasons: ['externalsecrets: cannot reach the Kubernetes API for 5s (HTTP 503)'],
    });
    es.watching();
    expect(health.readiness()).toEqual({ ready: true, reasons: [] });
    es.failed({ statusCode: 500 });
    c.advance(4_000);
    expect(health.readiness().ready).toBe(true); // a new outage gets a fresh grace
  });

  it('describes errors in one short line without response bodies', () => {
    expect(describeKubeError({ code: 403, body: '{"token":"x"}' })).toBe('HTTP 403');
    expect(describeKubeError(new Error('first line\nsecond line'))).toBe('first line');
    expect(
      describeKubeError(
        new Error(
          'request to http://10.0.0.1/api/v1/secrets?labelSelector=a failed, reason: connect ECONNREFUSED 10.0.0.1:443',
        ),
      ),
    ).toBe('connect ECONNREFUSED 10.0.0.1:443');
    expect(describeKubeError(new Error('x'.repeat(300)))).toHaveLength(160);
  });
});
