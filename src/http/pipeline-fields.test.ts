import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/types.js';
import type { TokenInfo } from '../auth/types.js';
import { definePath, type Backend } from '../logical/backend.js';
import { f } from '../logical/schema.js';
import { compileAcl } from '../policy/acl.js';
import { StrongroomError } from '../shared/errors.js';
import type { HttpDeps } from './deps.js';
import { compileRoutes, createPipeline, type ApiRequest } from './pipeline.js';

/**
 * Declared fields in the pipeline: handlers receive validated, coerced input; validation runs after authentication
 * and the ACL (a caller without access never learns a field error) and after the request's audit entry; `?help=1`
 * needs a token but no capability.
 */
describe('pipeline: declared fields and help', () => {
  const received: unknown[] = [];
  const backend: Backend = {
    paths: [
      definePath({
        name: 'test.thing',
        pattern: 'thing/(?<name>[^/]+)',
        synopsis: 'A thing.',
        fields: { ttl: f.duration('How long.'), tags: f.stringList('Tags.'), enabled: f.bool('On or off.') },
        queryFields: { version: f.int('Which version.', { min: 1 }) },
        operations: {
          update: async (ctx) => {
            // Typed without casts: ttl is number | undefined, tags string[] | undefined.
            const ttl: number | undefined = ctx.input.ttl;
            const tags: string[] | undefined = ctx.input.tags;
            received.push({ ttl, tags, enabled: ctx.input.enabled });
          },
          read: async (ctx) => ({ data: { version: ctx.input.version ?? null } }),
        },
      }),
    ],
  };
  const tokens: Record<string, TokenInfo> = {
    'srs.writer': { accessor: 'w', policies: ['writer'], numUses: 0, meta: {} } as unknown as TokenInfo,
    'srs.nobody': { accessor: 'n', policies: ['nobody'], numUses: 0, meta: {} } as unknown as TokenInfo,
  };
  const audited: AuditEvent[] = [];
  const audit = {
    log: async (event: AuditEvent) => void audited.push(event),
    logAll: async (events: AuditEvent[]) => void audited.push(...events),
  };
  const deps = {
    seal: { barrier: { isSealed: () => false } },
    tokens: {
      authenticate: async (token: string) => {
        const info = tokens[token];
        if (!info) throw new StrongroomError('forbidden', 'permission denied');
        return info;
      },
    },
    access: {
      acl: async (token: TokenInfo) =>
        compileAcl(
          token.policies.includes('writer')
            ? [[{ pattern: 'auth/test/thing/*', capabilities: ['create', 'read', 'update'] }]]
            : [],
        ),
    },
    audit: () => audit,
    // One auth mount at auth/test/, served by `backend`.
    authMounts: {
      resolve: async (path: string) =>
        path.startsWith('test/') ? { mount: { path: 'test/', type: 'test', uuid: 'u1' }, rest: path.slice(5) } : null,
    },
  } as unknown as HttpDeps;
  const pipeline = createPipeline(
    deps,
    compileRoutes({ sys: { paths: [] }, modules: { routesFor: () => ({ key: 'test', build: () => backend }) } }),
  );
  const request = (
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
    query: Record<string, string> = {},
  ): ApiRequest => ({
    method,
    path,
    query,
    body,
    token,
    remoteAddress: '127.0.0.1',
    requestId: 'r',
  });

  it("hands the handler coerced input, with Vault's lenient forms", async () => {
    received.length = 0;
    const reply = await pipeline.handle(
      request('POST', 'auth/test/thing/a', 'srs.writer', {
        ttl: '1h30m',
        tags: 'a, b,,c',
        enabled: '1',
        other: 'ignored',
      }),
    );
    expect(reply.status).toBe(204);
    expect(received).toEqual([{ ttl: 5400, tags: ['a', 'b', 'c'], enabled: true }]);
    const read = await pipeline.handle(request('GET', 'auth/test/thing/a', 'srs.writer', undefined, { version: '3' }));
    expect((read.body as { data: unknown }).data).toEqual({ version: 3 });
  });

  it('answers a bad field with a 400 naming it, after the request entry is audited', async () => {
    audited.length = 0;
    const reply = await pipeline.handle(
      request('POST', 'auth/test/thing/a', 'srs.writer', { ttl: 'secret-ish-value' }),
    );
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ errors: ['field "ttl" must be a duration such as "1h" or a number of seconds'] });
    expect(JSON.stringify(reply.body)).not.toContain('secret-ish-value');
    expect(audited.map((e) => e.type)).toEqual(['request', 'response']);
    expect(audited[1]?.error).toBe('field "ttl" must be a duration such as "1h" or a number of seconds');
  });

  it('judges the ACL first: a caller without access gets 403, never the field error', async () => {
    const reply = await pipeline.handle(request('POST', 'auth/test/thing/a', 'srs.nobody', { ttl: 'not-a-duration' }));
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({ errors: ['permission denied'] });
    expect((await pipeline.handle(request('POST', 'auth/test/thing/a', undefined, { ttl: 'x' }))).status).toBe(403);
    expect((await pipeline.handle(request('POST', 'auth/test/thing/a', 'srs.unknown', { ttl: 'x' }))).status).toBe(403);
  });

  it('serves ?help=1 to any valid token without a capability, and to no one without a token', async () => {
    const help = await pipeline.handle(request('GET', 'auth/test/thing/a', 'srs.nobody', undefined, { help: '1' }));
    expect(help.status).toBe(200);
    const body = help.body as { help: string; openapi: { paths: Record<string, unknown> } };
    expect(body.help).toContain('A thing.');
    expect(body.help).toContain('ttl');
    expect(Object.keys(body.openapi.paths)).toEqual(['/auth/test/thing/{name}']);
    expect(
      (await pipeline.handle(request('GET', 'auth/test/thing/a', undefined, undefined, { help: '1' }))).status,
    ).toBe(403);
  });
});
