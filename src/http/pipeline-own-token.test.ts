import { describe, expect, it } from 'vitest';
import type { TokenInfo } from '../auth/types.js';
import type { Backend, RequestContext } from '../logical/backend.js';
import type { HttpDeps } from './deps.js';
import { compileRoutes, createPipeline, type ApiRequest } from './pipeline.js';

/**
 * The presented token reaches a handler only on a path that declares `receivesOwnToken` (lookup-self, renew-self),
 * and the pipeline hands the caller's address to authentication (bound CIDRs are judged there).
 */
describe("pipeline: the caller's own token and address", () => {
  const info = { accessor: 'acc', policies: ['root'], numUses: 0 } as unknown as TokenInfo;
  const seen: Array<{ path: string; ownToken: string | undefined }> = [];
  const authenticated: Array<{ token: string; address: string | undefined }> = [];
  const record = async (ctx: RequestContext) => {
    seen.push({ path: ctx.rest, ownToken: ctx.ownToken });
    return { data: { ok: true } };
  };
  const backend: Backend = {
    paths: [
      { pattern: 'self', receivesOwnToken: true, operations: { read: record } },
      { pattern: 'other', operations: { read: record } },
    ],
  };
  const deps = {
    seal: { barrier: { isSealed: () => false } },
    tokens: {
      authenticate: async (token: string, address?: string) => {
        authenticated.push({ token, address });
        return info;
      },
    },
    policy: { acl: async () => ({ isRoot: true }) },
    access: { acl: async () => ({ isRoot: true }) },
    audit: () => null,
    // One auth mount at auth/test/, served by `backend`.
    authMounts: {
      resolve: async (path: string) =>
        path.startsWith('test/') ? { mount: { path: 'test/', type: 'test', uuid: 'u1' }, rest: path.slice(5) } : null,
    },
  } as unknown as HttpDeps;
  const modules = { routesFor: () => ({ key: 'test', build: () => backend }) };
  const pipeline = createPipeline(deps, compileRoutes({ sys: { paths: [] }, modules }));
  const request = (path: string): ApiRequest => ({
    method: 'GET',
    path,
    query: {},
    body: undefined,
    token: 'srs.presented',
    remoteAddress: '10.1.2.3',
    requestId: 'r1',
  });

  it('gives the token to the declaring path only, and the address to authentication', async () => {
    expect((await pipeline.handle(request('auth/test/self'))).status).toBe(200);
    expect((await pipeline.handle(request('auth/test/other'))).status).toBe(200);
    expect(seen).toEqual([
      { path: 'self', ownToken: 'srs.presented' },
      { path: 'other', ownToken: undefined },
    ]);
    expect(authenticated).toEqual([
      { token: 'srs.presented', address: '10.1.2.3' },
      { token: 'srs.presented', address: '10.1.2.3' },
    ]);
  });
});
