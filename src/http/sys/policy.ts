import type { Capability, PolicyService } from '../../policy/types.js';
import type { TokenService } from '../../auth/types.js';
import { invalid } from '../../shared/errors.js';
import type { BackendPath, RequestContext } from '../../logical/backend.js';
import { optString, optStringList, reqString } from '../../logical/fields.js';

const NAME = '(?<name>[^/]+)';
/** Policy names are case-insensitive (stored lower-case): judge the request by the name it acts on. */
const canonicalPolicyPath = (ctx: RequestContext) => ctx.path.toLowerCase();

/**
 * Vault's policy endpoints: the legacy sys/policy (GET list → {policies, keys}; rules as `rules`) and
 * sys/policies/acl (LIST → {keys}; rules as `policy`), plus sys/capabilities-self and sys/capabilities.
 */
export function policyPaths(deps: { policy: PolicyService; tokens: TokenService }): BackendPath[] {
  const { policy } = deps;
  const text = (ctx: RequestContext) => {
    const body = optString(ctx.data, 'policy') ?? optString(ctx.data, 'rules');
    if (body === undefined || body.trim() === '') throw invalid('missing required field "policy"');
    return body;
  };
  const nameOf = (ctx: RequestContext) => ctx.params.name!.toLowerCase();

  return [
    {
      name: 'sys.policy.list',
      pattern: 'policy/?',
      operations: {
        read: async () => {
          const names = await policy.list();
          return { data: { policies: names, keys: names } };
        },
        list: async () => ({ data: { keys: await policy.list() } }),
      },
    },
    {
      name: 'sys.policy',
      pattern: `policy/${NAME}`,
      aclPath: canonicalPolicyPath,
      operations: {
        read: async (ctx) => {
          const doc = await policy.read(nameOf(ctx));
          return { data: { name: doc.name, rules: doc.raw } };
        },
        update: async (ctx) => void (await policy.write(nameOf(ctx), text(ctx))),
        delete: async (ctx) => void (await policy.delete(nameOf(ctx))),
      },
    },
    {
      name: 'sys.policies.acl.list',
      pattern: 'policies/acl/?',
      operations: {
        list: async () => ({ data: { keys: await policy.list() } }),
        read: async () => ({ data: { keys: await policy.list() } }),
      },
    },
    {
      name: 'sys.policies.acl',
      pattern: `policies/acl/${NAME}`,
      aclPath: canonicalPolicyPath,
      operations: {
        read: async (ctx) => {
          const doc = await policy.read(nameOf(ctx));
          return { data: { name: doc.name, policy: doc.raw } };
        },
        update: async (ctx) => void (await policy.write(nameOf(ctx), text(ctx))),
        delete: async (ctx) => void (await policy.delete(nameOf(ctx))),
      },
    },
    {
      name: 'sys.capabilities-self',
      pattern: 'capabilities-self',
      operations: {
        update: async (ctx) => capabilitiesFor(policy, ctx.token?.policies ?? [], pathsOf(ctx.data)),
      },
    },
    {
      name: 'sys.capabilities',
      pattern: 'capabilities',
      operations: {
        update: async (ctx) => {
          const info = await deps.tokens.lookup(reqString(ctx.data, 'token'));
          return capabilitiesFor(policy, info.policies, pathsOf(ctx.data));
        },
      },
    },
  ];
}

function pathsOf(data: Record<string, unknown>): string[] {
  const paths = optStringList(data, 'paths') ?? optStringList(data, 'path');
  if (!paths?.length) throw invalid('missing required field "paths"');
  return paths;
}

/** Vault's answer: each path → its capabilities ('root' for the root policy, 'deny' when nothing applies). */
async function capabilitiesFor(policy: PolicyService, policies: string[], paths: string[]) {
  const acl = await policy.acl(policies);
  const data: Record<string, string[]> = {};
  for (const path of paths) {
    const clean = path.replace(/^\/+/, '');
    if (acl.isRoot) {
      data[path] = ['root'];
      continue;
    }
    const caps = [...acl.capabilities(clean)].filter((c): c is Capability => c !== 'deny').sort();
    data[path] = caps.length > 0 ? caps : ['deny'];
  }
  const first = paths.length === 1 ? data[paths[0]!] : undefined;
  return { data: { ...data, ...(first ? { capabilities: first } : {}) } };
}
