import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { PipelineHarness } from '../../test/support/pipeline-harness.js';
import { useAclPipeline } from './pipeline-acl-testing.js';

/**
 * The ACL in the request pipeline, continued (pipeline-acl.test.ts): parameter constraints apply, sudo paths need
 * sudo too, root passes, and handlers' `ctx.can` answers from the same ACL. Setup: pipeline-acl-testing.ts.
 */
describe('pipeline: ACL — constraints, sudo, root and ctx.can', () => {
  const fx = useAclPipeline();
  const { existing, grant, status } = fx;
  let h: PipelineHarness;
  beforeAll(() => {
    h = fx.h;
  });

  describe('parameter constraints', () => {
    const constrained = `path "auth/probe/items/*" {
      capabilities = ["create", "update"]
      allowed_parameters = { "color" = ["red", "green"], "size" = [] }
      denied_parameters = { "size" = ["huge"] }
    }
    path "auth/probe/plain" {
      capabilities = ["update"]
      required_parameters = ["reason"]
    }`;

    it('allows only the allowed parameters and values', async () => {
      const token = await h.tokenWithPolicy(constrained);
      expect(await status('PUT', 'auth/probe/items/a', token, { color: 'red' })).toBe(200);
      expect(await status('PUT', 'auth/probe/items/a', token, { color: 'red', size: 'small' })).toBe(200);
      expect(await status('PUT', 'auth/probe/items/a', token, { color: 'blue' })).toBe(403);
      expect(await status('PUT', 'auth/probe/items/a', token, { shape: 'round' })).toBe(403);
    });

    it('refuses denied values and missing required parameters', async () => {
      const token = await h.tokenWithPolicy(constrained);
      expect(await status('PUT', 'auth/probe/items/a', token, { size: 'huge' })).toBe(403);
      expect(await status('PUT', 'auth/probe/plain', token, { other: 1 })).toBe(403);
      expect(await status('PUT', 'auth/probe/plain', token, { reason: 'audit' })).toBe(200);
    });
  });

  describe('sudo', () => {
    it('needs sudo in addition to the operation’s capability', async () => {
      const readOnly = await h.tokenWithPolicy(grant('auth/probe/admin', 'read', 'update'));
      const sudoOnly = await h.tokenWithPolicy(grant('auth/probe/admin', 'sudo'));
      const both = await h.tokenWithPolicy(grant('auth/probe/admin', 'read', 'sudo'));
      expect(await status('GET', 'auth/probe/admin', readOnly)).toBe(403);
      expect(await status('GET', 'auth/probe/admin', sudoOnly)).toBe(403);
      expect(await status('GET', 'auth/probe/admin', both)).toBe(200);
      expect(await status('PUT', 'auth/probe/admin', both, {})).toBe(403);
    });

    it('judges sudo on a listing by the same rule as the list, including one written without the slash', async () => {
      const token = await h.tokenWithPolicy(grant('auth/probe/admin', 'list', 'sudo'));
      expect(await status('LIST', 'auth/probe/admin', token)).toBe(200);
      const noSudo = await h.tokenWithPolicy(grant('auth/probe/admin', 'list'));
      expect(await status('LIST', 'auth/probe/admin', noSudo)).toBe(403);
    });

    it("needs sudo on Vault's sudo paths (sys/audit, auth/token/create-orphan)", async () => {
      const plain = await h.tokenWithPolicy(grant('sys/audit', 'read') + grant('auth/token/create-orphan', 'update'));
      const sudo = await h.tokenWithPolicy(
        grant('sys/audit', 'read', 'sudo') + grant('auth/token/create-orphan', 'update', 'sudo'),
      );
      expect(await status('GET', 'sys/audit', plain)).toBe(403);
      expect(await status('GET', 'sys/audit', sudo)).toBe(200);
      expect(await status('POST', 'auth/token/create-orphan', plain, { policies: [] })).toBe(403);
      expect(await status('POST', 'auth/token/create-orphan', sudo, { ttl: '1h' })).toBe(200);
    });
  });

  describe('root and skipAcl', () => {
    it('passes the root token everywhere, sudo paths included, with no policy at all', async () => {
      existing.add('k');
      for (const [method, path, body] of [
        ['GET', 'auth/probe/admin', undefined],
        ['LIST', 'auth/probe/items', undefined],
        ['POST', 'auth/probe/copy', { from: 'a', to: 'b' }],
        ['PUT', 'sys/policies/acl/anything', { policy: grant('x', 'read') }],
        ['GET', 'sys/audit', undefined],
      ] as const) {
        expect(await status(method, path, h.rootToken, body), path).toBeLessThan(300);
      }
    });

    it('serves a skipAcl path to any valid token, and to no token-less caller', async () => {
      const nothing = await h.tokenWithPolicy(grant('nowhere', 'read'));
      expect(await status('GET', 'auth/probe/whoami', nothing)).toBe(200);
      expect((await h.request('GET', 'auth/probe/whoami')).status).toBe(403);
    });
  });

  describe('ctx.can', () => {
    it('answers from the same ACL the pipeline enforced, deny included', async () => {
      const token = await h.tokenWithPolicy(
        grant('auth/probe/can/*', 'read', 'sudo') +
          grant('auth/probe/items/*', 'read') +
          grant('auth/probe/items/other', 'deny'),
      );
      const reply = await h.request('GET', 'auth/probe/can/x', { token });
      expect((reply.body as { data: unknown }).data).toEqual({
        read: true,
        update: false,
        sudo: true,
        other: false,
        reach: true,
        nowhere: false,
      });
    });

    it('holds everything for root', async () => {
      const reply = await h.request('GET', 'auth/probe/can/x', { token: h.rootToken });
      expect((reply.body as { data: unknown }).data).toEqual({
        read: true,
        update: true,
        sudo: true,
        other: true,
        reach: true,
        nowhere: true,
      });
    });

    it("fetches the caller's ACL once per request, shared by the pipeline's check and the handler's", async () => {
      const token = await h.tokenWithPolicy(grant('auth/probe/can/*', 'read'));
      const acl = vi.spyOn(h.policy, 'acl');
      try {
        expect((await h.request('GET', 'auth/probe/can/x', { token })).status).toBe(200);
        expect(acl).toHaveBeenCalledTimes(1);
      } finally {
        acl.mockRestore();
      }
    });

    it('sees a policy change only on the next request, as the enforced check does', async () => {
      const token = await h.tokenWithPolicy(grant('auth/probe/whoami', 'read'), { name: 'mutable' });
      expect(await status('GET', 'auth/probe/whoami', token)).toBe(200);
      expect(await fx.lastCtx!.can('update', 'auth/probe/plain')).toBe(false);
      await h.policy.write('mutable', grant('auth/probe/plain', 'update'));
      // The request's ACL was fetched once; a later request sees the new policy.
      expect(await fx.lastCtx!.can('update', 'auth/probe/plain')).toBe(false);
      expect(await status('PUT', 'auth/probe/plain', token, {})).toBe(200);
    });
  });
});
