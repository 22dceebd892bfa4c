import { beforeAll, describe, expect, it } from 'vitest';
import { StorageUnavailableError } from '../storage/failures.js';
import { errorsOf, type PipelineHarness } from '../../test/support/pipeline-harness.js';
import { SECRET, useAuditPipeline } from './pipeline-audit-testing.js';

/**
 * Audit in the request pipeline (ARCHITECTURE "Audit"): a mutation's request entry is durable before its handler
 * runs; a read's request and response entries are written together after the handler, and the reply is released
 * only once both are durable; an audit failure fails the request and releases nothing the handler produced.
 * This file: failures, skipAudit and auditIfAvailable. Ordering: pipeline-audit.test.ts. Setup: pipeline-audit-testing.ts.
 */
describe('pipeline: audit — failures', () => {
  const fx = useAuditPipeline();
  const { as, releasesNothing } = fx;
  let h: PipelineHarness;
  beforeAll(() => {
    h = fx.h;
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
