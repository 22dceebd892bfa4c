import type { Acl, Capability, PolicyService } from '../../policy/types.js';
import type { TokenService } from '../../auth/types.js';
import type { AccessResolver } from '../../identity/access.js';
import { invalid } from '../../shared/errors.js';
import { definePath, type BackendPath, type RequestContext } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';

const NAME = '(?<name>[^/]+)';
/** Policy names are case-insensitive (stored lower-case): judge the request by the name it acts on. */
const canonicalPolicyPath = (ctx: RequestContext) => ctx.path.toLowerCase();

/**
 * Vault's policy endpoints: the legacy sys/policy (GET list → {policies, keys}; rules as `rules`) and
 * sys/policies/acl (LIST → {keys}; rules as `policy`), plus sys/capabilities-self and sys/capabilities.
 */
export function policyPaths(deps: {
  policy: PolicyService;
  tokens: TokenService;
  access: AccessResolver;
}): BackendPath[] {
  const { policy } = deps;
  const text = (input: FieldsInput<typeof POLICY_FIELDS>) => {
    const body = input.policy ?? input.rules;
    if (body === undefined || body.trim() === '') throw invalid('missing required field "policy"');
    return body;
  };
  const nameOf = (ctx: RequestContext) => ctx.params.name!.toLowerCase();

  return [
    {
      name: 'sys.policy.list',
      pattern: 'policy/?',
      synopsis: 'Lists the ACL policies (legacy path).',
      operations: {
        read: async () => {
          const names = await policy.list();
          return { data: { policies: names, keys: names } };
        },
        list: async () => ({ data: { keys: await policy.list() } }),
      },
    },
    definePath({
      name: 'sys.policy',
      pattern: `policy/${NAME}`,
      aclPath: canonicalPolicyPath,
      synopsis: 'Reads, writes or deletes an ACL policy (legacy path; the rules as `rules`).',
      fields: POLICY_FIELDS,
      operations: {
        read: async (ctx) => {
          const doc = await policy.read(nameOf(ctx));
          return { data: { name: doc.name, rules: doc.raw } };
        },
        update: async (ctx) => void (await policy.write(nameOf(ctx), text(ctx.input))),
        delete: async (ctx) => void (await policy.delete(nameOf(ctx))),
      },
    }),
    {
      name: 'sys.policies.acl.list',
      pattern: 'policies/acl/?',
      synopsis: 'Lists the ACL policies.',
      operations: {
        list: async () => ({ data: { keys: await policy.list() } }),
        read: async () => ({ data: { keys: await policy.list() } }),
      },
    },
    definePath({
      name: 'sys.policies.acl',
      pattern: `policies/acl/${NAME}`,
      aclPath: canonicalPolicyPath,
      synopsis: 'Reads, writes or deletes an ACL policy.',
      fields: POLICY_FIELDS,
      operations: {
        read: async (ctx) => {
          const doc = await policy.read(nameOf(ctx));
          return { data: { name: doc.name, policy: doc.raw } };
        },
        update: async (ctx) => void (await policy.write(nameOf(ctx), text(ctx.input))),
        delete: async (ctx) => void (await policy.delete(nameOf(ctx))),
      },
    }),
    definePath({
      name: 'sys.capabilities-self',
      pattern: 'capabilities-self',
      synopsis: "The caller's capabilities on paths.",
      fields: PATHS_FIELDS,
      operations: {
        // The caller's whole grant: its token's policies, its identity's, templates resolved (as the pipeline judges).
        update: async (ctx) =>
          capabilitiesFor(ctx.token ? await deps.access.acl(ctx.token) : await policy.acl([]), pathsOf(ctx.input)),
      },
    }),
    definePath({
      name: 'sys.capabilities',
      pattern: 'capabilities',
      synopsis: "A token's capabilities on paths.",
      fields: { ...PATHS_FIELDS, token: f.requiredString('The token whose capabilities to report.') },
      operations: {
        update: async (ctx) => {
          const info = await deps.tokens.lookup(ctx.input.token);
          return capabilitiesFor(await deps.access.acl(info), pathsOf(ctx.input));
        },
      },
    }),
  ];
}

const POLICY_FIELDS = {
  policy: f.string('The policy document (HCL or JSON).'),
  rules: f.string('Older name of policy.'),
};

const PATHS_FIELDS = {
  paths: f.stringList('The paths to report on.'),
  path: f.stringList('Older name of paths.'),
};

function pathsOf(data: FieldsInput<typeof PATHS_FIELDS>): string[] {
  const paths = data.paths ?? data.path;
  if (!paths?.length) throw invalid('missing required field "paths"');
  return paths;
}

/** Vault's answer: each path → its capabilities ('root' for the root policy, 'deny' when nothing applies). */
function capabilitiesFor(acl: Acl, paths: string[]) {
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
