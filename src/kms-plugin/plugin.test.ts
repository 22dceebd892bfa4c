import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StrongroomError } from '../shared/errors.js';
import { formatCiphertext, open, parseCiphertext, seal } from '../transit/ciphertext.js';
import { CircuitBreaker } from './breaker.js';
import type { Kek } from './kek.js';
import { FORMAT_ANNOTATION, createKmsPlugin } from './plugin.js';

/** A transit-like KEK in memory, with rotation and an outage switch. */
function fakeKek() {
  const versions = [randomBytes(32)];
  let down = false;
  let calls = 0;
  const kek: Kek & { rotate(): void; setDown(v: boolean): void; calls(): number } = {
    keyName: 'kms',
    async encrypt(plaintext, aad) {
      calls += 1;
      if (down) throw new StrongroomError('unavailable', 'cannot reach Strongroom');
      return {
        ciphertext: formatCiphertext(versions.length, seal(versions.at(-1)!, plaintext, aad)),
        version: versions.length,
      };
    },
    async decrypt(ciphertext, aad) {
      calls += 1;
      if (down) throw new StrongroomError('unavailable', 'cannot reach Strongroom');
      const parsed = parseCiphertext(ciphertext);
      return open(versions[parsed.version - 1]!, parsed.payload, aad);
    },
    async ensureKey() {},
    async close() {},
    rotate: () => void versions.push(randomBytes(32)),
    setDown: (v) => void (down = v),
    calls: () => calls,
  };
  return kek;
}

describe('kms plugin core', () => {
  it('round-trips any payload and reports a key id that follows rotation', async () => {
    const kek = fakeKek();
    const plugin = createKmsPlugin({ kek });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        const out = await plugin.encrypt(Buffer.from(bytes));
        expect(out.key_id).toBe('kms:v1');
        expect(out.ciphertext.length).toBeLessThanOrEqual(1024);
        const back = await plugin.decrypt({
          ciphertext: out.ciphertext,
          key_id: out.key_id,
          annotations: out.annotations,
        });
        expect(back.equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 50 },
    );
    const before = await plugin.encrypt(Buffer.from('seed'));
    kek.rotate();
    const after = await plugin.encrypt(Buffer.from('seed'));
    expect(after.key_id).toBe('kms:v2');
    expect((await plugin.decrypt({ ...before })).toString()).toBe('seed');
  });

  it('refuses a tampered ciphertext, key id or annotation', async () => {
    const plugin = createKmsPlugin({ kek: fakeKek() });
    const out = await plugin.encrypt(randomBytes(32));
    const flipped = Buffer.from(out.ciphertext);
    flipped[flipped.length - 3] = flipped[flipped.length - 3] === 0x41 ? 0x42 : 0x41;
    await expect(plugin.decrypt({ ...out, ciphertext: flipped })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(plugin.decrypt({ ...out, key_id: 'kms:v2' })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(plugin.decrypt({ ...out, annotations: {} })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(
      plugin.decrypt({ ...out, annotations: { [FORMAT_ANNOTATION]: Buffer.from('transit-aead-v9') } }),
    ).rejects.toMatchObject({ kind: 'invalid' });
  });

  it('is healthy only after a real round trip, and reports outages in healthz', async () => {
    const kek = fakeKek();
    let clock = 0;
    const plugin = createKmsPlugin({
      kek,
      now: () => clock,
      healthCacheMs: 1000,
      breaker: new CircuitBreaker({ threshold: 3, cooldownMs: 2000, now: () => clock }),
    });
    expect(await plugin.status()).toEqual({ version: 'v2', healthz: 'ok', key_id: 'kms:v1' });
    expect(kek.calls()).toBe(2);
    await plugin.status();
    expect(kek.calls()).toBe(2); // served from the fresh probe
    kek.setDown(true);
    clock += 1500;
    const down = await plugin.status();
    expect(down.healthz).toMatch(/^unhealthy: cannot reach Strongroom/);
    expect(down.key_id).toBe('kms:v1');
    kek.setDown(false);
    clock += 10;
    expect((await plugin.status()).healthz).toBe('ok');
  });

  it('opens the circuit after repeated outages and fails fast until the cool-down passes', async () => {
    const kek = fakeKek();
    let clock = 0;
    const plugin = createKmsPlugin({
      kek,
      breaker: new CircuitBreaker({ threshold: 3, cooldownMs: 2000, now: () => clock }),
    });
    kek.setDown(true);
    for (let i = 0; i < 3; i++)
      await expect(plugin.encrypt(Buffer.from('x'))).rejects.toMatchObject({ kind: 'unavailable' });
    const callsWhenOpened = kek.calls();
    await expect(plugin.encrypt(Buffer.from('x'))).rejects.toThrow(/circuit open/);
    expect(kek.calls()).toBe(callsWhenOpened);
    kek.setDown(false);
    clock += 2001;
    expect((await plugin.encrypt(Buffer.from('x'))).key_id).toBe('kms:v1');
  });
});
