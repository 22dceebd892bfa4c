import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineHarness } from '../../test/support/pipeline-harness.js';
import { SECRET, pending, settle, useAuditPipeline } from './pipeline-audit-testing.js';

/**
 * Audit in the request pipeline (ARCHITECTURE "Audit"): a mutation's request entry is durable before its handler
 * runs; a read's request and response entries are written together after the handler, and the reply is released
 * only once both are durable; an audit failure fails the request and releases nothing the handler produced.
 * This file: the ordering. Failures: pipeline-audit-failures.test.ts. Setup: pipeline-audit-testing.ts.
 */
describe('pipeline: audit — ordering', () => {
  const fx = useAuditPipeline();
  const { as } = fx;
  let h: PipelineHarness;
  beforeAll(() => {
    h = fx.h;
  });

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

    it('writes the entries of a write that changes nothing (changesNothing) together, like a read’s', async () => {
      const release = h.audit.hold();
      const request = pending(as('PUT', 'auth/probe/compute', { a: 1 }));
      await settle();
      expect(h.timeline).toEqual(['handler:compute:start', 'handler:compute:end']);
      expect(request.done()).toBe(false);
      release();
      expect((await request.reply).status).toBe(200);
      expect(h.audit.writes).toEqual([['request', 'response']]);
      expect(h.audit.entries.map((e) => e.request.operation)).toEqual(['update', 'update']);
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
});
