import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BackendPath, HandlerResult, RequestContext } from '../logical/backend.js';
import { createPipelineHarness, probeBackend, type PipelineHarness } from '../../test/support/pipeline-harness.js';

/**
 * The ACL in the request pipeline, judged with the real policy service: each operation needs its own capability
 * (create vs update decided by the path's existence check, list on the path with a trailing slash), `aclPath`
 * judges the canonical path the handler acts on, `dataAccess` paths are all checked, parameter constraints apply,
 * sudo paths need sudo too, root passes, and handlers' `ctx.can` answers from the same ACL.
 */
describe('pipeline: ACL', () => {
  let h: PipelineHarness;
  const existing = new Set<string>();
  const served: Array<{ path: string; operation: string }> = [];
  let lastCtx: RequestContext | undefined;

  const serve = async (ctx: RequestContext): Promise<HandlerResult> => {
    served.push({ path: ctx.path, operation: ctx.operation });
    lastCtx = ctx;
    return { data: { ok: true } };
  };
  const all = { read: serve, create: serve, update: serve, patch: serve, delete: serve };
  const paths: BackendPath[] = [
    { name: 'probe.items', pattern: 'items/?', operations: { list: async () => ({ data: { keys: [...existing] } }) } },
    {
      name: 'probe.item',
      pattern: 'items/(?<name>[^/]+)',
      existenceCheck: async (ctx) => existing.has(ctx.params.name!),
      operations: all,
    },
    { name: 'probe.plain', pattern: 'plain', operations: { update: serve } },
    {
      name: 'probe.admin',
      pattern: 'admin/?',
      sudo: true,
      operations: { read: serve, update: serve, list: async () => ({ data: { keys: ['x'] } }) },
    },
    {
      name: 'probe.canon',
      pattern: 'canon/(?<name>[^/]+)',
      aclPath: (ctx) => ctx.path.toLowerCase(),
      operations: { read: serve, update: serve },
    },
    {
      name: 'probe.copy',
      pattern: 'copy',
      dataAccess: (ctx) => [
        { path: `auth/probe/items/${String(ctx.data.from)}`, capabilities: ['read'] },
        { path: `auth/probe/items/${String(ctx.data.to)}`, capabilities: ['create', 'update'] },
      ],
      operations: { update: serve },
    },
    { name: 'probe.open', pattern: 'whoami', skipAcl: true, operations: { read: serve } },
    {
      name: 'probe.can',
      pattern: 'can/(?<name>[^/]+)',
      aclPath: (ctx) => ctx.path.toLowerCase(),
      operations: {
        read: async (ctx) => ({
          data: {
            read: await ctx.can('read'),
            update: await ctx.can('update'),
            sudo: await ctx.can('sudo'),
            other: await ctx.can('read', 'auth/probe/items/other'),
            reach: await ctx.canReachUnder('auth/probe/items/'),
            nowhere: await ctx.canReachUnder('secret/'),
          },
        }),
      },
    },
  ];

  beforeAll(async () => {
    h = await createPipelineHarness({ extraBackends: [['auth/probe/', probeBackend(paths)]] });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.reset();
    served.length = 0;
    existing.clear();
    lastCtx = undefined;
  });

  const grant = (path: string, ...caps: string[]) => `path "${path}" { capabilities = ${JSON.stringify(caps)} }\n`;
  const status = async (method: string, path: string, token: string, body?: unknown, query?: Record<string, string>) =>
    (await h.request(method, path, { token, ...(body !== undefined ? { body } : {}), ...(query ? { query } : {}) }))
      .status;

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
      expect(await lastCtx!.can('update', 'auth/probe/plain')).toBe(false);
      await h.policy.write('mutable', grant('auth/probe/plain', 'update'));
      // The request's ACL was fetched once; a later request sees the new policy.
      expect(await lastCtx!.can('update', 'auth/probe/plain')).toBe(false);
      expect(await status('PUT', 'auth/probe/plain', token, {})).toBe(200);
    });
  });
});
