import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineHarness } from '../../test/support/pipeline-harness.js';
import { useAclPipeline } from './pipeline-acl-testing.js';

/**
 * The ACL in the request pipeline, judged with the real policy service: each operation needs its own capability
 * (create vs update decided by the path's existence check, list on the path with a trailing slash), `aclPath`
 * judges the canonical path the handler acts on, and `dataAccess` paths are all checked. Setup: pipeline-acl-testing.ts.
 */
describe('pipeline: ACL — operations and paths', () => {
  const fx = useAclPipeline();
  const { served, existing, grant, status } = fx;
  let h: PipelineHarness;
  beforeAll(() => {
    h = fx.h;
  });

  describe('capabilities per operation', () => {
    it('allows a read with read, and refuses it without, auditing the refusal with the caller', async () => {
      const reader = await h.tokenWithPolicy(grant('auth/probe/items/*', 'read'));
      const other = await h.tokenWithPolicy(grant('auth/probe/plain', 'update'));
      expect(await status('GET', 'auth/probe/items/a', reader)).toBe(200);
      h.reset();
      const refused = await h.request('GET', 'auth/probe/items/a', { token: other });
      expect(refused).toMatchObject({ status: 403, body: { errors: ['permission denied'] } });
      expect(served).toHaveLength(1);
      expect(h.audit.entries).toHaveLength(1);
      expect(h.audit.entries[0]).toMatchObject({
        type: 'request',
        error: 'permission denied',
        request: { operation: 'read' },
      });
      // The refusal names who asked: the token's accessor and policies are in the entry.
      expect(h.audit.entries[0]!.auth?.accessor).toEqual(expect.any(String));
      expect(h.audit.entries[0]!.auth?.policies).toEqual([expect.stringMatching(/^p\d+$/)]);
    });

    it('lets a deny on the exact path win over a glob grant', async () => {
      const token = await h.tokenWithPolicy(
        grant('auth/probe/items/*', 'read', 'update') + grant('auth/probe/items/secret', 'deny'),
      );
      expect(await status('GET', 'auth/probe/items/public', token)).toBe(200);
      expect(await status('GET', 'auth/probe/items/secret', token)).toBe(403);
      expect(await status('PUT', 'auth/probe/items/secret', token, {})).toBe(403);
    });

    it('needs create for a write to a path that does not exist yet, and update for one that does', async () => {
      existing.add('old');
      const creator = await h.tokenWithPolicy(grant('auth/probe/items/*', 'create'));
      const updater = await h.tokenWithPolicy(grant('auth/probe/items/*', 'update'));
      expect(await status('POST', 'auth/probe/items/new', creator, { v: 1 })).toBe(200);
      expect(await status('POST', 'auth/probe/items/old', creator, { v: 1 })).toBe(403);
      expect(await status('PUT', 'auth/probe/items/old', updater, { v: 1 })).toBe(200);
      expect(await status('PUT', 'auth/probe/items/new', updater, { v: 1 })).toBe(403);
      expect(served).toEqual([
        { path: 'auth/probe/items/new', operation: 'create' },
        { path: 'auth/probe/items/old', operation: 'update' },
      ]);
      // The audit entries carry the operation the ACL judged.
      expect(h.audit.entries.filter((e) => e.error).map((e) => e.request.operation)).toEqual(['update', 'create']);
    });

    it('treats every write to a path without an existence check as an update', async () => {
      const creator = await h.tokenWithPolicy(grant('auth/probe/plain', 'create'));
      const updater = await h.tokenWithPolicy(grant('auth/probe/plain', 'update'));
      expect(await status('POST', 'auth/probe/plain', creator, {})).toBe(403);
      expect(await status('POST', 'auth/probe/plain', updater, {})).toBe(200);
    });

    it('needs delete for DELETE and patch for PATCH', async () => {
      existing.add('x');
      const editor = await h.tokenWithPolicy(grant('auth/probe/items/*', 'read', 'create', 'update'));
      const janitor = await h.tokenWithPolicy(grant('auth/probe/items/*', 'delete', 'patch'));
      expect(await status('DELETE', 'auth/probe/items/x', editor)).toBe(403);
      expect(await status('PATCH', 'auth/probe/items/x', editor, { a: 1 })).toBe(403);
      expect(await status('DELETE', 'auth/probe/items/x', janitor)).toBe(200);
      expect(await status('PATCH', 'auth/probe/items/x', janitor, { a: 1 })).toBe(200);
    });

    it('judges a list against the path with a trailing slash, for LIST and GET ?list=true alike', async () => {
      existing.add('k');
      const lister = await h.tokenWithPolicy(grant('auth/probe/items/', 'list'));
      const reader = await h.tokenWithPolicy(grant('auth/probe/items', 'read') + grant('auth/probe/items/', 'read'));
      expect(await status('LIST', 'auth/probe/items', lister)).toBe(200);
      expect(await status('GET', 'auth/probe/items', lister, undefined, { list: 'true' })).toBe(200);
      expect(await status('LIST', 'auth/probe/items/', lister)).toBe(200);
      expect(await status('LIST', 'auth/probe/items', reader)).toBe(403);
    });

    it('lets a list rule written without the trailing slash grant the listing, as Vault does', async () => {
      existing.add('k');
      const lister = await h.tokenWithPolicy(grant('auth/probe/items', 'list'));
      expect(await status('LIST', 'auth/probe/items', lister)).toBe(200);
    });

    it('property: each operation is allowed exactly when its capability is granted', async () => {
      const caps = ['create', 'read', 'update', 'patch', 'delete', 'list'] as const;
      await fc.assert(
        fc.asyncProperty(fc.subarray([...caps]), fc.boolean(), async (granted, exists) => {
          existing.clear();
          if (exists) existing.add('t');
          const token = await h.tokenWithPolicy(
            grant('auth/probe/items/*', ...granted) + grant('auth/probe/items/', ...granted),
          );
          const has = (c: string) => granted.includes(c as (typeof caps)[number]);
          expect(await status('GET', 'auth/probe/items/t', token)).toBe(has('read') ? 200 : 403);
          expect(await status('POST', 'auth/probe/items/t', token, {})).toBe(
            has(exists ? 'update' : 'create') ? 200 : 403,
          );
          expect(await status('PATCH', 'auth/probe/items/t', token, {})).toBe(has('patch') ? 200 : 403);
          expect(await status('DELETE', 'auth/probe/items/t', token)).toBe(has('delete') ? 200 : 403);
          // An empty listing is 404 (Vault's rule), so one key is listed.
          existing.add('t');
          expect(await status('LIST', 'auth/probe/items', token)).toBe(has('list') ? 200 : 403);
        }),
        { numRuns: 25 },
      );
    });
  });

  describe('aclPath', () => {
    it('judges a policy write by the lower-cased name it acts on: a deny on the real name wins', async () => {
      await h.policy.write('admin', grant('secret/*', 'read'));
      const token = await h.tokenWithPolicy(
        grant('sys/policies/acl/*', 'create', 'update', 'read') + grant('sys/policies/acl/admin', 'deny'),
      );
      for (const name of ['ADMIN', 'Admin', 'admin']) {
        expect(await status('PUT', `sys/policies/acl/${name}`, token, { policy: grant('*', 'sudo') }), name).toBe(403);
        expect(await status('PUT', `sys/policy/${name}`, token, { policy: grant('*', 'sudo') }), name).toBe(403);
      }
      expect((await h.policy.read('admin')).raw).toBe(grant('secret/*', 'read'));
      expect(await status('PUT', 'sys/policies/acl/Other', token, { policy: grant('secret/x', 'read') })).toBe(204);
      expect((await h.policy.read('other')).raw).toBe(grant('secret/x', 'read'));
    });

    it('grants by the canonical name too, and audits the path as the client sent it', async () => {
      const token = await h.tokenWithPolicy(grant('sys/policies/acl/ops', 'create', 'update', 'read'));
      h.reset();
      expect(await status('PUT', 'sys/policies/acl/OPS', token, { policy: grant('secret/ops/*', 'read') })).toBe(204);
      expect(await status('GET', 'sys/policies/acl/Ops', token)).toBe(200);
      expect(await status('PUT', 'sys/policies/acl/other', token, { policy: grant('x', 'read') })).toBe(403);
      expect(h.audit.entries[0]!.request.path).toBe('sys/policies/acl/OPS');
    });

    it('checks a declared aclPath on any backend, and ctx.can defaults to it', async () => {
      const token = await h.tokenWithPolicy(grant('auth/probe/can/me', 'read') + grant('auth/probe/canon/me', 'read'));
      expect(await status('GET', 'auth/probe/canon/ME', token)).toBe(200);
      expect(await status('PUT', 'auth/probe/canon/ME', token, {})).toBe(403);
      const reply = await h.request('GET', 'auth/probe/can/Me', { token });
      expect(reply.status).toBe(200);
      expect((reply.body as { data: Record<string, boolean> }).data).toMatchObject({
        read: true,
        update: false,
        sudo: false,
      });
    });
  });

  describe('dataAccess', () => {
    it('checks every declared path and capability: one missing refuses the request', async () => {
      existing.add('dst');
      const full = await h.tokenWithPolicy(
        grant('auth/probe/copy', 'update') +
          grant('auth/probe/items/src', 'read') +
          grant('auth/probe/items/dst', 'create', 'update'),
      );
      const noRead = await h.tokenWithPolicy(
        grant('auth/probe/copy', 'update') + grant('auth/probe/items/dst', 'create', 'update'),
      );
      const noCreate = await h.tokenWithPolicy(
        grant('auth/probe/copy', 'update') + grant('auth/probe/items/*', 'read', 'update'),
      );
      const onlyData = await h.tokenWithPolicy(grant('auth/probe/items/*', 'read', 'create', 'update'));
      const body = { from: 'src', to: 'dst' };
      expect(await status('POST', 'auth/probe/copy', full, body)).toBe(200);
      expect(await status('POST', 'auth/probe/copy', noRead, body)).toBe(403);
      expect(await status('POST', 'auth/probe/copy', noCreate, body)).toBe(403);
      // The data paths alone are not enough: the endpoint's own capability is needed too.
      expect(await status('POST', 'auth/probe/copy', onlyData, body)).toBe(403);
      expect(served).toHaveLength(1);
    });

    it("refuses a KV rollback to a caller who may update but not read the secret's data", async () => {
      const mount = (await h.mounts.resolve('secret/data/app'))!.mount;
      await h.kv.write(mount, 'app', { password: 'v1-secret' });
      await h.kv.write(mount, 'app', { password: 'v2-secret' });
      const writeOnly = await h.tokenWithPolicy(
        grant('secret/rollback/*', 'update') + grant('secret/data/app', 'create', 'update'),
      );
      const both = await h.tokenWithPolicy(
        grant('secret/rollback/*', 'update') + grant('secret/data/app', 'read', 'create', 'update'),
      );
      expect(await status('POST', 'secret/rollback/app', writeOnly, { version: 1 })).toBe(403);
      expect((await h.kv.read(mount, 'app')).data).toEqual({ password: 'v2-secret' });
      expect(await status('POST', 'secret/rollback/app', both, { version: 1 })).toBe(200);
      expect((await h.kv.read(mount, 'app')).data).toEqual({ password: 'v1-secret' });
    });

    it('lets a deny on data/ win over a grant on the KV diff endpoint', async () => {
      const mount = (await h.mounts.resolve('secret/data/db'))!.mount;
      await h.kv.write(mount, 'db', { a: '1' });
      await h.kv.write(mount, 'db', { a: '2' });
      const token = await h.tokenWithPolicy(
        grant('secret/diff/*', 'read') + grant('secret/data/*', 'read') + grant('secret/data/db', 'deny'),
      );
      const query = { from: '1', to: '2', show_values: 'true' };
      const refused = await h.request('GET', 'secret/diff/db', { token, query });
      expect(refused.status).toBe(403);
      expect(JSON.stringify(refused.body)).not.toContain('"2"');
      expect(await status('GET', 'secret/diff/other', token, undefined, query)).not.toBe(403);
    });
  });

  describe('refusals when the audit log fails', () => {
    it('never serves a refused request when its audit entry cannot be written', async () => {
      const token = await h.tokenWithPolicy(grant('auth/probe/plain', 'read'));
      h.audit.failNext('request', new Error('device gone'));
      const reply = await h.request('PUT', 'auth/probe/plain', { token, body: {} });
      expect(reply.status).toBe(500);
      expect(served).toEqual([]);
    });
  });
});
