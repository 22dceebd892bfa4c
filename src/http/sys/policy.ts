import type { PolicyService } from '../../policy/types.js';
import type { TokenService } from '../../auth/types.js';
import type { AccessResolver } from '../../identity/access.js';
import { invalid, isStrongroomError } from '../../shared/errors.js';
import { definePath, type BackendPath, type RequestContext } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import { capabilityPaths } from './capabilities.js';

const NAME = '(?<name>[^/]+)';
/** Policy names are case-insensitive (stored lower-case): judge the request by the name it acts on. */
const canonicalPolicyPath = (ctx: RequestContext) => ctx.path.toLowerCase();

/**
 * Vault's policy endpoints: the legacy sys/policy (GET list → {policies, keys}; rules as `rules`) and
 * sys/policies/acl (LIST → {keys}; rules as `policy`), the editor's dry run sys/internal/ui/policy-check, and the
 * capabilities endpoints (capabilities.ts).
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
      name: 'sys.internal.ui.policy-check',
      pattern: 'internal/ui/policy-check',
      // It reads and writes nothing and reveals nothing but the verdict on the caller's own text, so like Vault's
      // other console helpers it needs a valid token and no capability: every editor can validate as one types.
      skipAcl: true,
      synopsis: 'Checks a policy as a write would, without writing it: the errors with line and column, or the rules.',
      fields: { ...POLICY_FIELDS, name: f.string('The name it would be written under (checked too when given).') },
      operations: {
        update: async (ctx) => {
          const body = text(ctx.input);
          try {
            const checked = policy.check(ctx.input.name ?? 'draft', body);
            const rules = checked.rules.map((rule) => ({
              pattern: rule.pattern,
              capabilities: rule.capabilities,
              line: rule.line,
              column: rule.column,
            }));
            return { data: { valid: true, errors: [], rules } };
          } catch (err) {
            if (!isStrongroomError(err, 'invalid')) throw err;
            // The same message a write answers in its {"errors": [...]}, with the position as numbers too.
            const { line, column } = err.details ?? {};
            const position = typeof line === 'number' && typeof column === 'number' ? { line, column } : {};
            return { data: { valid: false, errors: [{ message: err.message, ...position }], rules: [] } };
          }
        },
      },
    }),
    ...capabilityPaths(deps),
  ];
}

const POLICY_FIELDS = {
  policy: f.string('The policy document (HCL or JSON).'),
  rules: f.string('Older name of policy.'),
};
