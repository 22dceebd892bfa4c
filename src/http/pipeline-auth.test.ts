import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestContext } from '../logical/backend.js';
import {
  createPipelineHarness,
  errorsOf,
  probeBackend,
  type PipelineHarness,
} from '../../test/support/pipeline-harness.js';

/**
 * Authentication in the request pipeline: every way a token can fail gets the same 403 "permission denied" (nothing
 * to learn by probing), with an audited request entry carrying the error; unauthenticated paths need no token;
 * login paths are rate limited per address.
 */
describe('pipeline: authentication', () => {
  let h: PipelineHarness;
  const seen: RequestContext[] = [];
  const served = async (ctx: RequestContext) => {
    seen.push(ctx);
    return { data: { ok: true } };
  };

  beforeAll(async () => {
    h = await createPipelineHarness({
      loginRateLimit: { perSecond: 0.001, burst: 2 },
      extraBackends: [
        [
          'auth/probe/',
          probeBackend([
            {
              name: 'probe.open',
              pattern: 'open',
              unauthenticated: true,
              operations: {
                read: async (ctx) => ({ data: { served: seen.push(ctx) } }),
                update: async (ctx) => void seen.push(ctx),
              },
            },
            {
              name: 'probe.login',
              pattern: 'login',
              unauthenticated: true,
              rateLimited: true,
              operations: { update: async () => ({ auth: { client_token: 'issued', policies: ['default'] } }) },
            },
            {
              name: 'probe.guarded',
              pattern: 'guarded',
              existenceCheck: async () => {
                h.timeline.push('existence-check');
                return true;
              },
              operations: { read: served, update: served },
            },
          ]),
        ],
      ],
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.reset();
    seen.length = 0;
  });

  const DENIED = { errors: ['permission denied'] };

  /** The reply and the one audit entry a refused token leaves behind; the handler must not have run. */
  async function refused(token: string | undefined, method = 'GET') {
    const reply = await h.request(method, 'auth/probe/guarded', {
      token,
      ...(method === 'GET' ? {} : { body: { a: 1 } }),
    });
    expect(seen).toEqual([]);
    return reply;
  }

  it('answers a request without a token with 403 permission denied, and audits the request with the error', async () => {
    const reply = await refused(undefined);
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual(DENIED);
    expect(h.audit.entries).toHaveLength(1);
    const [entry] = h.audit.entries;
    expect(entry).toMatchObject({
      type: 'request',
      error: 'permission denied',
      request: { path: 'auth/probe/guarded', operation: 'read' },
    });
    expect(entry!.auth).toBeUndefined();
    expect(entry!.request.client_token).toBeUndefined();
  });

  it('answers an unknown token exactly as a missing one, and audits the presented token (the service HMACs it)', async () => {
    const reply = await refused('srs.not-a-real-token');
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual(DENIED);
    expect(h.audit.entries).toHaveLength(1);
    expect(h.audit.entries[0]).toMatchObject({
      type: 'request',
      error: 'permission denied',
      request: { client_token: 'srs.not-a-real-token' },
    });
    expect(h.audit.entries[0]!.auth).toBeUndefined();
  });

  it('refuses an expired token with the same answer', async () => {
    const token = await h.tokenWithPolicy('path "auth/probe/*" { capabilities = ["read"] }', { ttl: 60 });
    expect((await h.request('GET', 'auth/probe/guarded', { token })).status).toBe(200);
    seen.length = 0;
    h.clock.advance(61);
    const reply = await refused(token);
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual(DENIED);
  });

  it('serves a use-limited token its uses, then refuses it with the same answer', async () => {
    const token = await h.tokenWithPolicy('path "auth/probe/*" { capabilities = ["read"] }', { numUses: 2 });
    expect((await h.request('GET', 'auth/probe/guarded', { token })).status).toBe(200);
    expect((await h.request('GET', 'auth/probe/guarded', { token })).status).toBe(200);
    seen.length = 0;
    const reply = await refused(token);
    expect(reply).toMatchObject({ status: 403, body: DENIED });
  });

  it('refuses a revoked token with the same answer', async () => {
    const token = await h.tokenWithPolicy('path "auth/probe/*" { capabilities = ["read"] }');
    await h.tokens.revoke(token);
    expect(await refused(token)).toMatchObject({ status: 403, body: DENIED });
  });

  it('refuses a token presented from outside its bound CIDR blocks with the same answer, without spending a use', async () => {
    await h.policy.write('probe-reader', 'path "auth/probe/*" { capabilities = ["read"] }');
    const { token } = await h.tokens.issue({
      policies: ['probe-reader'],
      authMethod: 'approle',
      path: 'auth/approle/login',
      boundCidrs: ['10.9.0.0/16'],
      numUses: 1,
    });
    const outside = await h.request('GET', 'auth/probe/guarded', { token, remoteAddress: '10.8.0.1' });
    expect(outside).toMatchObject({ status: 403, body: DENIED });
    // The refused attempt did not count: the one use is still there for the right address.
    expect((await h.request('GET', 'auth/probe/guarded', { token, remoteAddress: '10.9.1.2' })).status).toBe(200);
  });

  it('gives byte-identical replies for missing, unknown, expired and used-up tokens', async () => {
    const expired = await h.tokenWithPolicy('path "auth/probe/*" { capabilities = ["read"] }', { ttl: 10 });
    const usedUp = await h.tokenWithPolicy('path "auth/probe/*" { capabilities = ["read"] }', { numUses: 1 });
    await h.request('GET', 'auth/probe/guarded', { token: usedUp });
    h.clock.advance(11);
    const replies = await Promise.all(
      [undefined, 'srs.unknown', expired, usedUp].map((t) =>
        h.request('GET', 'auth/probe/guarded', { token: t, requestId: 'same' }),
      ),
    );
    const wire = replies.map((r) =>
      JSON.stringify({ status: r.status, body: r.body, headers: r.headers ?? {}, contentType: r.contentType }),
    );
    expect(new Set(wire).size).toBe(1);
  });

  it('any token string that is not a live token gets the identical 403 body, and the handler never runs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 80 }),
          fc.string({ unit: 'grapheme', maxLength: 40 }),
          fc.stringMatching(/^srs\.[A-Za-z0-9_-]{43}$/),
          fc.string({ minLength: 1000, maxLength: 5000 }),
        ),
        async (token) => {
          seen.length = 0;
          h.audit.clear();
          const reply = await h.request('GET', 'auth/probe/guarded', { token });
          expect(reply.status).toBe(403);
          expect(reply.body).toEqual(DENIED);
          expect(seen).toEqual([]);
          // Exactly one entry, the request, carrying the error: nothing about which check failed.
          expect(h.audit.entries.map((e) => [e.type, e.error])).toEqual([['request', 'permission denied']]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('never serves a bad token when its refusal cannot be audited', async () => {
    h.audit.failNext('request');
    const reply = await refused('srs.unknown');
    expect(reply.status).toBe(503);
    expect(h.audit.entries).toEqual([]);
  });

  it('refuses a token for a path it holds nothing on only after authenticating it (and spends a use, as Vault)', async () => {
    const token = await h.tokenWithPolicy('path "elsewhere" { capabilities = ["read"] }', { numUses: 1 });
    expect(await refused(token)).toMatchObject({ status: 403, body: DENIED });
    // The denied entry names the caller: it was authenticated.
    expect(h.audit.entries[0]!.auth?.accessor).toEqual(expect.any(String));
    // Its one use went on the refused request.
    h.reset();
    await refused(token);
    expect(h.audit.entries[0]!.auth).toBeUndefined();
  });

  it('authenticates before the existence check and the ACL: a bad token never reaches either', async () => {
    const reply = await h.request('POST', 'auth/probe/guarded', { token: 'srs.bogus', body: { x: 1 } });
    expect(reply.status).toBe(403);
    expect(h.timeline).not.toContain('existence-check');
    // An operation decided by the existence check is not known yet: the entry says what the method asked for.
    expect(h.audit.entries[0]!.request.operation).toBe('update');
  });

  it('serves an unauthenticated path without a token, and ignores a bogus one there', async () => {
    expect((await h.request('GET', 'auth/probe/open')).status).toBe(200);
    expect((await h.request('GET', 'auth/probe/open', { token: 'srs.bogus' })).status).toBe(200);
    expect(seen.map((ctx) => ctx.token)).toEqual([null, null]);
    // And a token-less context holds no capability anywhere.
    expect(await seen[0]!.can('read', 'auth/probe/open')).toBe(false);
    expect(await seen[0]!.canReachUnder('auth/')).toBe(false);
  });

  it("serves Vault's unauthenticated sys endpoints without a token", async () => {
    expect((await h.request('GET', 'sys/health')).status).toBe(200);
    const status = await h.request('GET', 'sys/seal-status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ sealed: false, initialized: true });
  });

  it('asks for a token on every other sys endpoint', async () => {
    for (const path of ['sys/mounts', 'sys/policies/acl', 'sys/audit', 'sys/metrics']) {
      expect(await h.request('GET', path), path).toMatchObject({ status: 403, body: DENIED });
    }
  });

  it('rate limits login attempts per address with 429 and retry-after, and not other addresses', async () => {
    const from = { remoteAddress: '192.0.2.10', body: {} };
    expect((await h.request('POST', 'auth/probe/login', from)).status).toBe(200);
    expect((await h.request('POST', 'auth/probe/login', from)).status).toBe(200);
    const limited = await h.request('POST', 'auth/probe/login', from);
    expect(limited.status).toBe(429);
    expect(errorsOf(limited)).toEqual(['too many login attempts; retry later']);
    expect(Number(limited.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.route).toBe('probe.login.write');
    expect((await h.request('POST', 'auth/probe/login', { remoteAddress: '192.0.2.11', body: {} })).status).toBe(200);
  });

  it('rate limits the real AppRole login before it looks at the credentials', async () => {
    const from = { remoteAddress: '192.0.2.20', body: { role_id: 'nope', secret_id: 'nope' } };
    const first = await h.request('POST', 'auth/approle/login', from);
    const second = await h.request('POST', 'auth/approle/login', from);
    expect([first.status, second.status]).not.toContain(429);
    const third = await h.request('POST', 'auth/approle/login', from);
    expect(third.status).toBe(429);
    expect(third.headers?.['retry-after']).toBeDefined();
  });

  it('does not rate limit paths that are not logins', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await h.request('GET', 'auth/probe/open', { remoteAddress: '192.0.2.30' })).status).toBe(200);
    }
  });
});
