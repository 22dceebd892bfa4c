import fc from 'fast-check';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './chain.js';
import { createRedactor, HMAC_PREFIX } from './redact.js';
import { sampleEvent } from './testing.js';
import type { AuditEvent } from './types.js';

const key = randomBytes(32);
const redactor = createRedactor(key);
const expectedHash = (input: string) => HMAC_PREFIX + createHmac('sha256', key).update(input).digest('hex');
const HASHED = /^hmac-sha256:[0-9a-f]{64}$/;

describe('redaction', () => {
  it('hash() is Vault-format HMAC-SHA256 under the audit key (sys/audit-hash)', () => {
    expect(redactor.hash('my-secret-vault')).toBe(expectedHash('my-secret-vault'));
    expect(redactor.hash('x')).toMatch(HASHED);
    expect(createRedactor(randomBytes(32)).hash('x')).not.toBe(redactor.hash('x'));
  });

  it('redactAll gives exactly what redacting each event alone gives, and the same accessor the same HMAC every time', () => {
    const events = [sampleEvent(1), sampleEvent(1, { type: 'request', response: undefined }), sampleEvent(2)];
    const together = redactor.redactAll(events);
    expect(together).toEqual(events.map((event) => createRedactor(key).redact(event)));
    expect(together[0]!.auth!.accessor).toBe(expectedHash('accessor-1'));
    expect(redactor.redact(sampleEvent(4)).auth!.accessor).toBe(expectedHash('accessor-1'));
    expect(JSON.stringify(together)).not.toContain('hvs.client-token-1');
  });

  it("a client token is HMAC'd under this redactor's key on every request, also once its HMAC is remembered", () => {
    const otherKey = randomBytes(32);
    const other = createRedactor(otherKey);
    const tokens = ['hvs.repeat-1', 'hvs.repeat-2', 'hvs.repeat-1', 'hvs.repeat-2', 'hvs.repeat-1'];
    for (const token of tokens) {
      const event = sampleEvent(1, { request: { ...sampleEvent(1).request, client_token: token } });
      expect(redactor.redact(event).request.client_token).toBe(expectedHash(token));
      // Another key, another HMAC: nothing remembered crosses from one redactor to another.
      expect(other.redact(event).request.client_token).toBe(
        HMAC_PREFIX + createHmac('sha256', otherKey).update(token).digest('hex'),
      );
    }
  });

  it('data with a data_key is redacted exactly as without one, the key never written, and each key redacted once', () => {
    const keyed = createRedactor(key);
    const plain = createRedactor(key);
    const responseWith = (data: Record<string, unknown>, dataKey?: string) =>
      sampleEvent(2, {
        response: {
          status: 200,
          data,
          clear_data: ['metadata.version'],
          ...(dataKey !== undefined ? { data_key: dataKey } : {}),
        },
      });
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null))),
        fc.nat(),
        (secret, version) => {
          const data = { data: secret, metadata: { version } };
          const dataKey = `digest-${JSON.stringify(data)}`;
          const expected = plain.redact(responseWith(data));
          const first = keyed.redact(responseWith(data, dataKey));
          const again = keyed.redactAll([responseWith(data, dataKey), responseWith(data, dataKey)]);
          expect(first).toEqual(expected);
          expect(again).toEqual([expected, expected]);
          expect(first.response).not.toHaveProperty('data_key');
          expect(JSON.stringify(first)).not.toContain('digest-');
        },
      ),
      { numRuns: 50 },
    );
    // Same key, same redacted data: the HMACs are not computed again (the key says the data is the same).
    const once = keyed.redact(responseWith({ data: { password: 'first' } }, 'record-1'));
    const reused = keyed.redact(responseWith({ data: { password: 'first' } }, 'record-1'));
    expect(reused.response!.data).toBe(once.response!.data);
    expect(Object.isFrozen(reused.response!.data)).toBe(true);
    // Another key is another record: redacted afresh.
    const other = keyed.redact(responseWith({ data: { password: 'second' } }, 'record-2'));
    expect(other.response!.data).toEqual({ data: { password: expectedHash('second') } });
  });

  it("an event field named like an Object.prototype member is HMAC'd, never taken for a handler", () => {
    const event = {
      ...sampleEvent(1),
      constructor: 'secret-in-constructor',
      toString: 'secret-in-tostring',
    } as unknown as AuditEvent;
    const redacted = redactor.redact(event) as unknown as Record<string, unknown>;
    expect(redacted.constructor).toBe(expectedHash('secret-in-constructor'));
    expect(redacted.toString).toBe(expectedHash('secret-in-tostring'));
  });

  it("a wrapped response's wrap_info: token and accessors HMAC'd, when and where it was made in clear", () => {
    const event = sampleEvent(1);
    event.response = {
      status: 200,
      wrap_info: {
        token: 'srs.wrapping-token',
        accessor: 'wrap-accessor',
        ttl: 300,
        creation_time: '2026-01-01T00:00:00.000Z',
        creation_path: 'secret/data/app',
        wrapped_accessor: 'inner-accessor',
      },
    };
    expect(redactor.redact(event).response!.wrap_info).toEqual({
      token: expectedHash('srs.wrapping-token'),
      accessor: expectedHash('wrap-accessor'),
      ttl: 300,
      creation_time: '2026-01-01T00:00:00.000Z',
      creation_path: 'secret/data/app',
      wrapped_accessor: expectedHash('inner-accessor'),
    });
  });

  it('refuses a key too short to be a key', () => {
    expect(() => createRedactor(Buffer.alloc(4))).toThrow(/at least 16 bytes/);
  });

  it('HMACs tokens, accessors and data but keeps the forensic fields clear', () => {
    const event = sampleEvent(7, {
      auth: {
        accessor: 'acc-caller',
        display_name: 'kubernetes-prod-api',
        policies: ['default', 'payments'],
        auth_method: 'kubernetes',
        metadata: { service_account_namespace: 'prod', service_account_name: 'api' },
      },
      response: {
        status: 200,
        data: { data: { password: 'hunter2', pin: 1234, enabled: true, tags: ['a', null], nested: { deep: 'x' } } },
        auth: { client_token: 'hvs.issued', accessor: 'acc-issued', policies: ['payments'] },
      },
      error: 'permission denied',
    });
    const out = redactor.redact(event);
    expect(out.request.client_token).toBe(expectedHash('hvs.client-token-7'));
    expect(out.auth?.accessor).toBe(expectedHash('acc-caller'));
    expect(out.response?.auth).toEqual({
      client_token: expectedHash('hvs.issued'),
      accessor: expectedHash('acc-issued'),
      policies: ['payments'],
    });
    expect(out.response?.data).toEqual({
      data: {
        password: expectedHash('hunter2'),
        pin: expectedHash('1234'),
        enabled: expectedHash('true'),
        tags: [expectedHash('a'), null],
        nested: { deep: expectedHash('x') },
      },
    });
    expect(out.request).toMatchObject({
      id: 'req-7',
      operation: 'update',
      path: 'secret/data/app/7',
      mount_type: 'kv',
      remote_address: '10.0.0.1',
    });
    expect(out.auth).toMatchObject({
      display_name: 'kubernetes-prod-api',
      policies: ['default', 'payments'],
      auth_method: 'kubernetes',
      metadata: { service_account_namespace: 'prod', service_account_name: 'api' },
    });
    expect(out).toMatchObject({ type: 'response', time: event.time, error: 'permission denied' });
    expect(out.response?.status).toBe(200);
  });

  it("fails closed on fields it does not know: they are HMAC'd, not copied", () => {
    const event = {
      ...sampleEvent(1),
      headers: { authorization: 'Bearer secret-header' },
      request: { ...sampleEvent(1).request, wrap_token: 'wrapped-secret' },
    } as unknown as AuditEvent;
    const line = canonicalJson(redactor.redact(event));
    expect(line).not.toContain('secret-header');
    expect(line).not.toContain('wrapped-secret');
    expect(line).toContain(expectedHash('wrapped-secret'));
  });

  it('keeps a "__proto__" key in data as data (no prototype tricks)', () => {
    const data = JSON.parse('{"__proto__": {"token": "s3cr3t-proto"}}') as Record<string, unknown>;
    const out = redactor.redact(sampleEvent(3, { request: { ...sampleEvent(3).request, data } }));
    const line = canonicalJson(out);
    expect(line).toContain(`"__proto__":{"token":"${expectedHash('s3cr3t-proto')}"}`);
    expect(line).not.toContain('s3cr3t-proto');
  });

  it("does not modify the caller's event", () => {
    const event = sampleEvent(2);
    const before = structuredClone(event);
    redactor.redact(event);
    expect(event).toEqual(before);
  });

  it('property: no leaf of random nested request/response data appears in clear, and each becomes its HMAC', () => {
    // Leaves carry a marker the rest of a record never contains, so any clear occurrence is a leak.
    const secret = fc.string({ minLength: 1, maxLength: 20 }).map((s) => `s3cr3t${s}`);
    const leaf = fc.oneof(
      secret,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('tree'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 6 }), tie('tree'), { maxKeys: 4 }),
      ),
    }));
    const data = fc.dictionary(fc.string({ maxLength: 6 }), tree, { maxKeys: 5 });
    fc.assert(
      fc.property(data, data, secret, (requestData, responseData, token) => {
        const event = sampleEvent(0, {
          request: { ...sampleEvent(0).request, data: requestData, client_token: token },
          response: { status: 200, data: responseData, auth: { client_token: token, accessor: token } },
        });
        const out = redactor.redact(event);
        const line = canonicalJson(out);
        expect(line).not.toContain('s3cr3t');
        // Every leaf maps to the HMAC of its string form; structure and keys are kept.
        expect(out.request.data).toEqual(expectedShape(requestData));
        expect(out.response?.data).toEqual(expectedShape(responseData));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps clear exactly the scalars a backend declares non-secret, HMACs the rest, and never writes the declaration', () => {
    const event = sampleEvent(3, {
      response: {
        status: 200,
        data: {
          data: { password: 'hunter2', version: 'v-secret' },
          metadata: {
            created_time: '2026-01-01T00:00:00Z',
            version: 3,
            destroyed: false,
            custom_metadata: { owner: 'team-a' },
          },
          'metadata.version': 'dotted-key-secret',
        },
        clear_data: [
          'metadata.created_time',
          'metadata.version',
          'metadata.destroyed',
          'metadata.custom_metadata',
          'data',
        ],
      },
    });
    const out = redactor.redact(event);
    const data = out.response!.data as Record<string, Record<string, unknown>>;
    expect(data.metadata).toEqual({
      created_time: '2026-01-01T00:00:00Z',
      version: 3,
      destroyed: false,
      // Declared, but an object: only scalars are ever spared.
      custom_metadata: { owner: expectedHash('team-a') },
    });
    // "data" is declared too, but holds an object: its values are still HMAC'd.
    expect(data.data).toEqual({ password: expectedHash('hunter2'), version: expectedHash('v-secret') });
    // A key containing a dot is not the path "metadata.version".
    expect(data['metadata.version']).toBe(expectedHash('dotted-key-secret'));
    expect(out.response).not.toHaveProperty('clear_data');
    expect(canonicalJson(out)).not.toContain('clear_data');
  });

  it('ignores a clear_data declaration that is not a list of paths (fails closed)', () => {
    const event = sampleEvent(5, {
      response: { status: 200, data: { version: 5 }, clear_data: 'version' as unknown as string[] },
    });
    expect(redactor.redact(event).response!.data).toEqual({ version: expectedHash('5') });
  });

  it('redacts a block shared by a request and its response once, to the same output as redacting them apart', () => {
    const request = sampleEvent(8).request;
    const auth = sampleEvent(8).auth;
    const pair = [
      sampleEvent(8, { type: 'request', request, auth, response: undefined }),
      sampleEvent(8, { request, auth }),
    ];
    const together = redactor.redactAll(pair);
    expect(together[0]!.request).toBe(together[1]!.request);
    expect(together[0]!.auth).toBe(together[1]!.auth);
    expect(together).toEqual(pair.map((event) => createRedactor(key).redact(event)));
  });
});

function expectedShape(value: unknown): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(expectedShape);
  if (typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expectedShape(v)]));
  return expectedHash(String(value));
}
