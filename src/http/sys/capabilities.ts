import type { TokenInfo, TokenService } from '../../auth/types.js';
import type { AccessResolver } from '../../identity/access.js';
import { definePath, type BackendPath, type RequestContext } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import { isTemplated } from '../../policy/template.js';
import type { Acl, Capability, PolicyService, RuleSource } from '../../policy/types.js';
import { forbidden, invalid, isStrongroomError } from '../../shared/errors.js';

/**
 * "What can this token do on this path?": Vault's sys/capabilities-self, sys/capabilities and
 * sys/capabilities-accessor, and Strongroom's sys/capabilities-explain, which answers the same question with the rule
 * that decided. All four judge through the same ACL the request pipeline uses (identity policies and templates
 * included, see identity/access.ts), and explain's capabilities come from the very lookup sys/capabilities makes
 * (Acl.explain), so the two cannot disagree.
 */
export function capabilityPaths(deps: {
  policy: PolicyService;
  tokens: TokenService;
  access: AccessResolver;
}): BackendPath[] {
  const { policy, tokens } = deps;
  // `deps.access` is read per request, never captured when the routes are built (tests rewire it, as before).
  const access: AccessResolver = {
    acl: (token) => deps.access.acl(token),
    identityPolicies: (token) => deps.access.identityPolicies(token),
  };
  return [
    definePath({
      name: 'sys.capabilities-self',
      pattern: 'capabilities-self',
      synopsis: "The caller's capabilities on paths.",
      fields: PATHS_FIELDS,
      operations: {
        // The caller's whole grant: its token's policies, its identity's, templates resolved (as the pipeline judges).
        update: async (ctx) => capabilitiesAnswer(await callerAcl(ctx), pathsOf(ctx.input)),
      },
    }),
    definePath({
      name: 'sys.capabilities',
      pattern: 'capabilities',
      synopsis: "A token's capabilities on paths.",
      fields: { ...PATHS_FIELDS, token: f.requiredString('The token whose capabilities to report.') },
      operations: {
        update: async (ctx) =>
          capabilitiesAnswer(await access.acl(await tokens.lookup(ctx.input.token)), pathsOf(ctx.input)),
      },
    }),
    definePath({
      name: 'sys.capabilities-accessor',
      pattern: 'capabilities-accessor',
      synopsis: 'The capabilities, on paths, of the token with an accessor.',
      fields: {
        ...PATHS_FIELDS,
        accessor: f.requiredString('The accessor of the token whose capabilities to report.'),
      },
      operations: {
        update: async (ctx) =>
          capabilitiesAnswer(await access.acl(await tokens.lookupAccessor(ctx.input.accessor)), pathsOf(ctx.input)),
      },
    }),
    definePath({
      name: 'sys.capabilities-explain',
      pattern: 'capabilities-explain',
      synopsis: 'Capabilities on paths with the rule that decided, for a token, an accessor, policies or a draft.',
      description:
        'Give at most one of token (needs update on sys/capabilities), accessor (needs update on ' +
        'sys/capabilities-accessor), policies (needs read on sys/policies/acl/<name> for each) or policy, an unsaved ' +
        "policy text named `name`; with none, the caller's own token is explained. Each path answers the capabilities " +
        'sys/capabilities would, how they were decided (root, rule, deny, no_rule), the pattern that matched and ' +
        'every policy rule merged into it, with its line and column.',
      fields: EXPLAIN_FIELDS,
      operations: {
        update: async (ctx) => {
          const subject = await subjectOf(ctx, ctx.input);
          const paths: Record<string, PathExplanation> = {};
          for (const path of pathsOf(ctx.input)) {
            const explained = explainPath(subject.acl, path);
            const foreign = subject.kind === 'token' || subject.kind === 'accessor';
            paths[path] = foreign ? await redacted(ctx, explained) : explained;
          }
          return {
            data: { subject: subject.kind, ...(subject.policies ? { policies: subject.policies } : {}), paths },
            ...(subject.warnings.length ? { warnings: subject.warnings } : {}),
          };
        },
      },
    }),
  ];

  async function callerAcl(ctx: RequestContext): Promise<Acl> {
    return ctx.token ? access.acl(ctx.token) : policy.acl([]);
  }

  /** The ACL to explain, after checking the caller may look at it (as Vault guards the matching capabilities path). */
  async function subjectOf(ctx: RequestContext, input: FieldsInput<typeof EXPLAIN_FIELDS>): Promise<Subject> {
    const given = (['token', 'accessor', 'policies', 'policy'] as const).filter((key) => input[key] !== undefined);
    if (given.length > 1)
      throw invalid(`give at most one of token, accessor, policies and policy (got ${given.join(', ')})`);
    if (input.name !== undefined && input.policy === undefined) throw invalid('"name" names an unsaved "policy"');
    const require = async (capability: Exclude<Capability, 'deny'>, path: string) => {
      if (!(await ctx.can(capability, path))) throw forbidden();
    };
    if (input.token !== undefined) {
      await require('update', 'sys/capabilities');
      return tokenSubject('token', await tokens.lookup(input.token), false);
    }
    if (input.accessor !== undefined) {
      await require('update', 'sys/capabilities-accessor');
      return tokenSubject('accessor', await tokens.lookupAccessor(input.accessor), false);
    }
    if (input.policies !== undefined) {
      const names = [...new Set(input.policies.map((name) => name.toLowerCase()))];
      if (names.length === 0) throw invalid('"policies" names no policy');
      for (const name of names) await require('read', `sys/policies/acl/${name}`);
      return storedPoliciesSubject(names);
    }
    if (input.policy !== undefined) {
      const name = input.name ?? 'draft';
      const acl = policy.draftAcl(name, input.policy);
      const warnings = policy.check(name, input.policy).rules.some((rule) => isTemplated(rule.pattern))
        ? [TEMPLATES_NEED_IDENTITY]
        : [];
      return { kind: 'policy', acl, policies: [name.toLowerCase()], warnings };
    }
    if (!ctx.token) throw forbidden();
    return tokenSubject('self', ctx.token, true);
  }

  async function tokenSubject(kind: Subject['kind'], token: TokenInfo, showPolicies: boolean): Promise<Subject> {
    const acl = await access.acl(token);
    if (!showPolicies) return { kind, acl, warnings: [] };
    const policies = [...new Set([...token.policies, ...(await access.identityPolicies(token))])];
    return { kind, acl, policies, warnings: [] };
  }

  async function storedPoliciesSubject(names: string[]): Promise<Subject> {
    const warnings: string[] = [];
    let templated = false;
    for (const name of names) {
      try {
        const doc = await policy.read(name);
        templated ||= doc.rules.some((rule) => isTemplated(rule.pattern));
      } catch (err) {
        // Vault ignores policy names it does not know; say so, so a typo is not read as "grants nothing".
        if (!isStrongroomError(err, 'not_found') && !isStrongroomError(err, 'invalid')) throw err;
        warnings.push(`policy "${name}" does not exist: it grants nothing`);
      }
    }
    if (templated) warnings.push(TEMPLATES_NEED_IDENTITY);
    return { kind: 'policies', acl: await policy.acl(names), policies: names, warnings };
  }
}

const TEMPLATES_NEED_IDENTITY =
  'templated paths ({{identity...}}) are resolved only for a token with an identity: here they grant nothing';

interface Subject {
  kind: 'self' | 'token' | 'accessor' | 'policies' | 'policy';
  acl: Acl;
  /** The policies evaluated, when the caller may see them (its own, or the ones it named). */
  policies?: string[];
  warnings: string[];
}

const PATHS_FIELDS = {
  paths: f.stringList('The paths to report on.'),
  path: f.stringList('Older name of paths.'),
};

const EXPLAIN_FIELDS = {
  ...PATHS_FIELDS,
  token: f.string('Explain this token (the caller needs update on sys/capabilities).'),
  accessor: f.string('Explain the token with this accessor (the caller needs update on sys/capabilities-accessor).'),
  policies: f.stringList('Explain these stored policies together (the caller needs read on each).'),
  policy: f.string('Explain this unsaved policy text (HCL or JSON), checked as a write would check it.'),
  name: f.string('The name of the unsaved policy (default "draft").'),
};

function pathsOf(data: FieldsInput<typeof PATHS_FIELDS>): string[] {
  const paths = data.paths ?? data.path;
  if (!paths?.length) throw invalid('missing required field "paths"');
  return paths;
}

/** Vault's words for one path: its capabilities sorted, ['root'] for the root policy, ['deny'] when none. */
function vaultCapabilities(acl: Acl, capabilities: Set<Capability>): string[] {
  if (acl.isRoot) return ['root'];
  const granted = [...capabilities].filter((c) => c !== 'deny').sort();
  return granted.length > 0 ? granted : ['deny'];
}

/** Vault strips leading slashes from the paths it reports on (the answer keeps them as asked). */
const cleanPath = (path: string) => path.replace(/^\/+/, '');

/** Vault's answer: each path → its capabilities, and `capabilities` too when a single path was asked. */
function capabilitiesAnswer(acl: Acl, paths: string[]) {
  const data: Record<string, string[]> = {};
  for (const path of paths) data[path] = vaultCapabilities(acl, acl.capabilities(cleanPath(path)));
  const first = paths.length === 1 ? data[paths[0]!] : undefined;
  return { data: { ...data, ...(first ? { capabilities: first } : {}) } };
}

interface PathExplanation {
  capabilities: string[];
  /** root: the root policy; rule: a rule granted (maybe nothing); deny: a deny in the rule won; no_rule: nothing matched. */
  decided_by: 'root' | 'rule' | 'deny' | 'no_rule';
  /** The pattern that matched, as matched (templates resolved); null when none did. */
  pattern: string | null;
  /** The rule needs MFA or a control group (not offered) or has an unreadable wrapping TTL: requests get nothing. */
  grants_nothing: boolean;
  rules: RuleView[];
}

/** A rule behind the answer; policy, pattern and position are absent when the caller may not read its policy. */
type RuleView = Omit<RuleSource, 'pattern'> & { pattern?: string };

/**
 * Another token's rules come from policies the caller may not be allowed to read: a rule's policy, pattern and
 * position are shown only when the caller may read that policy (as the `policies` form requires), and the matched
 * pattern only when every rule behind it is shown. The capabilities and how they were decided are always answered
 * (sys/capabilities tells them anyway).
 */
async function redacted(ctx: RequestContext, explained: PathExplanation): Promise<PathExplanation> {
  const readable = new Map<string, boolean>();
  const mayRead = async (name: string | undefined) => {
    if (name === undefined) return false;
    if (!readable.has(name)) readable.set(name, await ctx.can('read', `sys/policies/acl/${name}`));
    return readable.get(name)!;
  };
  const rules: RuleView[] = [];
  let hidden = false;
  for (const rule of explained.rules) {
    if (await mayRead(rule.policy)) rules.push(rule);
    else {
      hidden = true;
      rules.push({ capabilities: rule.capabilities, conditions: rule.conditions });
    }
  }
  return { ...explained, rules, pattern: hidden ? null : explained.pattern };
}

function explainPath(acl: Acl, path: string): PathExplanation {
  const decision = acl.explain(cleanPath(path));
  const capabilities = vaultCapabilities(acl, decision.capabilities);
  if (acl.isRoot) return { capabilities, decided_by: 'root', pattern: null, grants_nothing: false, rules: [] };
  const rule = decision.rule;
  if (!rule) return { capabilities, decided_by: 'no_rule', pattern: null, grants_nothing: false, rules: [] };
  return {
    capabilities,
    decided_by: rule.deny ? 'deny' : 'rule',
    pattern: rule.pattern,
    grants_nothing: rule.grantsNothing,
    rules: rule.sources,
  };
}
