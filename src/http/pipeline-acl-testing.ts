import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { BackendPath, HandlerResult, RequestContext } from '../logical/backend.js';
import { createPipelineHarness, probeBackend, type PipelineHarness } from '../../test/support/pipeline-harness.js';

/**
 * Shared setup of the pipeline ACL tests (pipeline-acl-*.test.ts): a probe backend whose paths exercise every ACL
 * feature, served through the real policy service. Call inside a describe: it registers that block's hooks.
 */
export interface AclPipeline {
  /** Set by the beforeAll hook this registers. */
  h: PipelineHarness;
  existing: Set<string>;
  served: Array<{ path: string; operation: string }>;
  /** The last handler context served, for `ctx.can` checks. */
  lastCtx: RequestContext | undefined;
  grant: (path: string, ...caps: string[]) => string;
  status: (
    method: string,
    path: string,
    token: string,
    body?: unknown,
    query?: Record<string, string>,
  ) => Promise<number>;
}

export function useAclPipeline(): AclPipeline {
  const fx = { existing: new Set<string>(), served: [] } as unknown as AclPipeline;
  const { existing, served } = fx;

  const serve = async (ctx: RequestContext): Promise<HandlerResult> => {
    served.push({ path: ctx.path, operation: ctx.operation });
    fx.lastCtx = ctx;
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
    fx.h = await createPipelineHarness({ extraBackends: [['auth/probe/', probeBackend(paths)]] });
  });
  afterAll(() => fx.h.close());
  beforeEach(() => {
    fx.h.reset();
    served.length = 0;
    existing.clear();
    fx.lastCtx = undefined;
  });

  fx.grant = (path: string, ...caps: string[]) => `path "${path}" { capabilities = ${JSON.stringify(caps)} }\n`;
  fx.status = async (method: string, path: string, token: string, body?: unknown, query?: Record<string, string>) =>
    (await fx.h.request(method, path, { token, ...(body !== undefined ? { body } : {}), ...(query ? { query } : {}) }))
      .status;
  return fx;
}
