import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StrongroomError } from '../shared/errors.js';
import { StorageUnavailableError } from '../storage/failures.js';
import type { ApiReply } from './pipeline.js';
import {
  createPipelineHarness,
  errorsOf,
  probeBackend,
  probeHandler,
  type PipelineHarness,
} from '../../test/support/pipeline-harness.js';

/**
 * Audit in the request pipeline (ARCHITECTURE "Audit"): a mutation's request entry is durable before its handler
 * runs; a read's request and response entries are written together after the handler, and the reply is released
 * only once both are durable; an audit failure fails the request and releases nothing the handler produced.
 */
const SECRET = 's3cr3t-value-never-unaudited';

/** Lets pending promise chains run (the fake's writes and the pipeline's awaits), without timers. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}

/** Starts a request and reports whether it has answered yet. */
function pending(reply: Promise<ApiReply>): { done: () => boolean; reply: Promise<ApiReply> } {
  let done = false;
  void reply.then(() => (done = true));
  return { done: () => done, reply };
}

describe('pipeline: audit', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    const timeline = () => h.timeline;
    const secret = { data: { secret: SECRET }, headers: { 'x-probe': 'released' } };
    h = await createPipelineHarness({
      extraBackends: [
        [
          'auth/probe/',
          probeBackend([
            {
              name: 'probe.thing',
              pattern: 'thing',
              existenceCheck: async () => true,
              operations: {
                read: (ctx) => probeHandler(timeline(), 'read', secret)(ctx),
                update: (ctx) => probeHandler(timeline(), 'update', secret)(ctx),
                create: (ctx) => probeHandler(timeline(), 'create', secret)(ctx),
                patch: (ctx) => probeHandler(timeline(), 'patch', secret)(ctx),
                delete: (ctx) => probeHandler(timeline(), 'delete')(ctx),
              },
            },
            {
              name: 'probe.new',
              pattern: 'new',
              existenceCheck: async () => false,
              operations: { create: (ctx) => probeHandler(timeline(), 'create', secret)(ctx) },
            },
            {
              name: 'probe.things',
              pattern: 'things/?',
              operations: { list: (ctx) => probeHandler(timeline(), 'list', { data: { keys: [SECRET] } })(ctx) },
            },
            {
              name: 'probe.fails',
              pattern: 'fails/(?<how>[a-z]+)',
              operations: {
                read: async (ctx) => {
                  h.timeline.push('handler:fails:start');
                  if (ctx.params.how === 'notfound') throw new StrongroomError('not_found', 'no such thing');
                  throw new Error(`boom with ${SECRET}`);
                },
                update: async (ctx) => {
                  h.timeline.push('handler:fails:start');
                  if (ctx.params.how === 'invalid') throw new StrongroomError('invalid', 'field "x" is required');
                  throw new Error(`boom with ${SECRET}`);
                },
              },
            },
            {
              name: 'probe.login',
              pattern: 'login',
              unauthenticated: true,
              operations: {
                update: async () => {
                  h.timeline.push('handler:login:start');
                  return {
                    auth: { client_token: SECRET, accessor: 'acc-1', policies: ['default'] },
                    auditAuth: { display_name: 'probe-user' },
                  };
                },
              },
            },
            {
              name: 'probe.versioned',
              pattern: 'versioned',
              operations: { read: async () => ({ data: { value: SECRET, version: 3 }, auditClearData: ['version'] }) },
            },
            {
              name: 'probe.quiet',
              pattern: 'quiet',
              skipAudit: true,
              operations: { read: (ctx) => probeHandler(timeline(), 'quiet', secret)(ctx) },
            },
            {
              name: 'probe.lifecycle',
              pattern: 'lifecycle',
              auditIfAvailable: true,
              operations: {
                update: (ctx) => probeHandler(timeline(), 'lifecycle', { data: { done: true } })(ctx),
                read: (ctx) => probeHandler(timeline(), 'lifecycle', { data: { done: true } })(ctx),
              },
            },
          ]),
        ],
      ],
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.reset();
    h.auditUnavailable = false;
  });

  const as = (method: string, path: string, body?: unknown) =>
    h.request(method, path, { token: h.rootToken, ...(body !== undefined ? { body } : {}), requestId: 'rid-1' });

  /** Nothing the handler produced is in the reply: only Vault's error list, no data, no handler headers. */
  function releasesNothing(reply: ApiReply) {
    expect(JSON.stringify(reply)).not.toContain(SECRET);
    expect(Object.keys(reply.body as object)).toEqual(['errors']);
    expect(reply.headers?.['x-probe']).toBeUndefined();
  }

  describe('ordering', () => {
    for (const [method, op] of [
      ['PUT', 'update'],
      ['PATCH', 'patch'],
      ['DELETE', 'delete'],
    ] as const) {
      it(`makes a ${op}'s request entry durable before its handler starts`, async () => {
        const reply = await as(method, 'auth/probe/thing', method === 'DELETE' ? undefined : { a: 1 });
        expect(reply.status).toBeLessThan(300);
        expect(h.timeline).toEqual([
          'audit:request:durable',
          `handler:${op}:start`,
          `handler:${op}:end`,
          'audit:response:durable',
        ]);
        expect(h.audit.writes).toEqual([['request'], ['response']]);
        expect(h.audit.entries.map((e) => e.request.operation)).toEqual([op, op]);
      });
    }

    it("makes a create's request entry durable before its handler starts", async () => {
      await as('POST', 'auth/probe/new', { a: 1 });
      expect(h.timeline).toEqual([
        'audit:request:durable',
        'handler:create:start',
        'handler:create:end',
        'audit:response:durable',
      ]);
    });

    it('does not start a mutation while its request entry is still on its way to disk', async () => {
      const release = h.audit.hold();
      const request = pending(as('PUT', 'auth/probe/thing', { a: 1 }));
      await settle();
      expect(h.audit.held()).toBe(1);
      expect(h.timeline).toEqual([]);
      expect(request.done()).toBe(false);
      release();
      expect((await request.reply).status).toBe(200);
      expect(h.timeline[0]).toBe('audit:request:durable');
      expect(h.timeline[1]).toBe('handler:update:start');
    });

    it('writes a read’s request and response entries together, after the handler and before the reply', async () => {
      const reply = await as('GET', 'auth/probe/thing');
      expect(reply.status).toBe(200);
      expect(h.timeline).toEqual([
        'handler:read:start',
        'handler:read:end',
        'audit:request:durable',
        'audit:response:durable',
      ]);
      expect(h.audit.writes).toEqual([['request', 'response']]);
      expect(h.audit.entries[1]!.response).toMatchObject({ status: 200, data: { secret: SECRET } });
    });

    it('holds a read’s reply until both entries are durable', async () => {
      const release = h.audit.hold();
      const request = pending(as('GET', 'auth/probe/thing'));
      await settle();
      expect(h.timeline).toEqual(['handler:read:start', 'handler:read:end']);
      expect(request.done()).toBe(false);
      release();
      expect((await request.reply).status).toBe(200);
      expect(h.audit.writes).toEqual([['request', 'response']]);
    });

    it('treats a list like a read', async () => {
      const reply = await as('LIST', 'auth/probe/things');
      expect(reply.status).toBe(200);
      expect(h.timeline).toEqual([
        'handler:list:start',
        'handler:list:end',
        'audit:request:durable',
        'audit:response:durable',
      ]);
      expect(h.audit.writes).toEqual([['request', 'response']]);
    });

    it('writes a failed read’s entries together, with the error in the response entry', async () => {
      const reply = await as('GET', 'auth/probe/fails/notfound');
      expect(reply).toMatchObject({ status: 404, body: { errors: ['no such thing'] } });
      expect(h.audit.writes).toEqual([['request', 'response']]);
      expect(h.audit.entries[1]).toMatchObject({ type: 'response', error: 'no such thing', response: { status: 404 } });
    });

    it('audits a failed mutation’s request before the handler and its error after', async () => {
      const reply = await as('PUT', 'auth/probe/fails/invalid', {});
      expect(reply).toMatchObject({ status: 400, body: { errors: ['field "x" is required'] } });
      expect(h.timeline).toEqual(['audit:request:durable', 'handler:fails:start', 'audit:response:durable']);
      expect(h.audit.entries[1]).toMatchObject({ error: 'field "x" is required', response: { status: 400 } });
    });

    it('answers an unexpected handler error with a request id only, and audits it as "internal error"', async () => {
      const reply = await as('GET', 'auth/probe/fails/crash');
      expect(reply).toMatchObject({ status: 500, body: { errors: ['internal error; request id rid-1'] } });
      expect(JSON.stringify(reply.body)).not.toContain(SECRET);
      expect(reply.internalError).toBeInstanceOf(Error);
      expect(h.audit.entries[1]).toMatchObject({ error: 'internal error', response: { status: 500 } });
      expect(JSON.stringify(h.audit.entries)).not.toContain('boom');
    });

    it('records the request in the response entry, and what the handler marks clear', async () => {
      await as('GET', 'auth/probe/versioned');
      const [request, response] = h.audit.entries;
      expect(request!.request).toMatchObject({
        id: 'rid-1',
        operation: 'read',
        path: 'auth/probe/versioned',
        mount_type: 'probe',
        remote_address: '10.0.0.1',
      });
      expect(response!.request).toEqual(request!.request);
      expect(response!.response).toMatchObject({
        status: 200,
        data: { value: SECRET, version: 3 },
        clear_data: ['version'],
      });
      expect(response!.auth?.policies).toEqual(['root']);
    });

    it("records a login's issued token and new identity in the response entry", async () => {
      const reply = await h.request('POST', 'auth/probe/login', { body: {} });
      expect(reply.status).toBe(200);
      const response = h.audit.entries.find((e) => e.type === 'response')!;
      expect(response.response?.auth).toEqual({ client_token: SECRET, accessor: 'acc-1', policies: ['default'] });
      expect(response.auth?.display_name).toBe('probe-user');
    });

    it('audits a refused mutation with its request entry only: no handler, no response entry', async () => {
      const token = await h.tokenWithPolicy('path "auth/probe/thing" { capabilities = ["read"] }');
      h.reset();
      const reply = await h.request('PUT', 'auth/probe/thing', { token, body: {} });
      expect(reply.status).toBe(403);
      expect(h.timeline).toEqual(['audit:request:durable']);
      expect(h.audit.entries[0]).toMatchObject({ type: 'request', error: 'permission denied' });
    });
  });

  describe('failures', () => {
    it('never runs a mutation whose request entry could not be written, and answers 503 with no data', async () => {
      h.audit.failNext('request');
      const reply = await as('PUT', 'auth/probe/thing', { a: 1 });
      expect(reply.status).toBe(503);
      expect(errorsOf(reply)).toEqual(['audit log unavailable; request not served; request id rid-1']);
      expect(h.timeline).toEqual(['audit:request:failed']);
      expect(h.audit.entries).toEqual([]);
      releasesNothing(reply);
    });

    it('answers 500 when the request entry fails for a reason that is not an outage, without the reason', async () => {
      h.audit.failNext('request', new Error('sink exploded: /var/log/secret-path'));
      const reply = await as('DELETE', 'auth/probe/thing');
      expect(reply.status).toBe(500);
      expect(errorsOf(reply)).toEqual(['audit log unavailable; request not served; request id rid-1']);
      expect(JSON.stringify(reply.body)).not.toContain('exploded');
      expect(reply.internalError).toBeInstanceOf(Error);
      expect(h.timeline.some((e) => e.startsWith('handler:'))).toBe(false);
    });

    it("answers 503 with storage's own words when the audit write failed because storage is out", async () => {
      h.audit.failNext('request', new StorageUnavailableError('full', 'SQLITE_FULL', 'database or disk is full'));
      const reply = await as('PUT', 'auth/probe/thing', { a: 1 });
      expect(reply.status).toBe(503);
      expect(errorsOf(reply)).toEqual(['storage full: the database has no space left to write; request not served']);
      expect(h.timeline).toEqual(['audit:request:failed']);
    });

    it('releases no body when a read’s entries cannot be written: the secret never reaches the reply', async () => {
      h.audit.failNext('any');
      const reply = await as('GET', 'auth/probe/thing');
      expect(reply.status).toBe(503);
      expect(h.timeline).toEqual(['handler:read:start', 'handler:read:end', 'audit:request+response:failed']);
      releasesNothing(reply);
    });

    it('releases no body when a mutation’s response entry cannot be written', async () => {
      h.audit.failNext('response');
      const reply = await as('PATCH', 'auth/probe/thing', { a: 1 });
      expect(reply.status).toBe(503);
      expect(h.timeline).toEqual([
        'audit:request:durable',
        'handler:patch:start',
        'handler:patch:end',
        'audit:response:failed',
      ]);
      releasesNothing(reply);
    });

    it("releases no issued token when a login's response entry cannot be written", async () => {
      h.audit.failNext('response', new Error('device gone'));
      const reply = await h.request('POST', 'auth/probe/login', { body: {}, requestId: 'rid-2' });
      expect(reply.status).toBe(500);
      releasesNothing(reply);
    });

    it('releases no KV secret read through the real engine when the audit write fails', async () => {
      const mount = (await h.mounts.resolve('secret/data/app'))!.mount;
      await h.kv.write(mount, 'app', { password: SECRET });
      h.audit.failNext('any');
      const reply = await as('GET', 'secret/data/app');
      expect(reply.status).toBe(503);
      releasesNothing(reply);
      // And with the audit log working again the same read is served.
      const served = await as('GET', 'secret/data/app');
      expect((served.body as { data: { data: unknown } }).data.data).toEqual({ password: SECRET });
    });

    it('turns an error reply into an audit failure when its response entry cannot be written', async () => {
      h.audit.failNext('response');
      const reply = await as('PUT', 'auth/probe/fails/invalid', {});
      expect(reply.status).toBe(503);
      expect(errorsOf(reply)).toEqual(['audit log unavailable; request not served; request id rid-1']);
    });

    it('serves nothing, not even a read, while the audit log is not open', async () => {
      h.auditUnavailable = true;
      for (const [method, path] of [
        ['GET', 'auth/probe/thing'],
        ['PUT', 'auth/probe/thing'],
        ['GET', 'secret/data/app'],
        ['GET', 'sys/mounts'],
      ] as const) {
        const reply = await as(method, path, method === 'PUT' ? {} : undefined);
        expect(reply, path).toMatchObject({
          status: 503,
          body: { errors: ['the audit log is not available yet; retry shortly'] },
        });
      }
      expect(h.timeline).toEqual([]);
    });
  });

  describe('skipAudit and auditIfAvailable', () => {
    it('writes nothing for a skipAudit path, and serves it whatever the state of the audit log', async () => {
      h.audit.failNext('any');
      expect((await as('GET', 'auth/probe/quiet')).status).toBe(200);
      expect(h.audit.armed()).toBe(true);
      h.auditUnavailable = true;
      expect((await as('GET', 'auth/probe/quiet')).status).toBe(200);
      expect((await h.request('GET', 'sys/health')).status).toBe(200);
      expect(h.audit.entries).toEqual([]);
      expect(h.timeline).toEqual([
        'handler:quiet:start',
        'handler:quiet:end',
        'handler:quiet:start',
        'handler:quiet:end',
      ]);
    });

    it('audits an auditIfAvailable path as any other while the audit log is open, failing closed', async () => {
      expect((await as('PUT', 'auth/probe/lifecycle', {})).status).toBe(200);
      expect(h.timeline).toEqual([
        'audit:request:durable',
        'handler:lifecycle:start',
        'handler:lifecycle:end',
        'audit:response:durable',
      ]);
      h.reset();
      h.audit.failNext('request');
      expect((await as('PUT', 'auth/probe/lifecycle', {})).status).toBe(503);
      expect(h.timeline).toEqual(['audit:request:failed']);
    });

    it('serves an auditIfAvailable path unaudited while the audit log is not open', async () => {
      h.auditUnavailable = true;
      expect((await as('PUT', 'auth/probe/lifecycle', {})).status).toBe(200);
      expect((await as('GET', 'auth/probe/lifecycle')).status).toBe(200);
      expect(h.timeline).toEqual([
        'handler:lifecycle:start',
        'handler:lifecycle:end',
        'handler:lifecycle:start',
        'handler:lifecycle:end',
      ]);
      expect(h.audit.entries).toEqual([]);
    });

    it('still authenticates and checks the ACL on an auditIfAvailable path while the audit log is not open', async () => {
      h.auditUnavailable = true;
      const token = await h.tokenWithPolicy('path "auth/probe/other" { capabilities = ["update"] }');
      expect((await h.request('PUT', 'auth/probe/lifecycle', { token, body: {} })).status).toBe(403);
      expect((await h.request('PUT', 'auth/probe/lifecycle', { body: {} })).status).toBe(403);
      expect(h.timeline).toEqual([]);
    });
  });
});
