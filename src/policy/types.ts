/**
 * Vault ACL policies. Documents are HCL or JSON:
 *   path "secret/data/app/*" { capabilities = ["read", "list"] }
 * Patterns: a trailing '*' is a prefix glob; '+' matches exactly one path segment. When several patterns match a
 * request path only the most specific one applies (Vault's priority rules); identical patterns from several
 * policies merge their capabilities; 'deny' in the applicable rule wins over everything.
 */
export type Capability = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list' | 'sudo' | 'deny';

/** A value of a policy's extra attributes (allowed_parameters, min_wrapping_ttl, ...), as written. */
export type HclValue = string | number | boolean | HclValue[] | { [key: string]: HclValue };

export interface PathRule {
  pattern: string;
  capabilities: Capability[];
  /**
   * Vault's other path attributes (allowed_parameters, denied_parameters, required_parameters, min_wrapping_ttl,
   * max_wrapping_ttl, mfa_methods, control_group, comment), kept as written so documents round-trip. The parameter
   * constraints are enforced by the ACL (see parameters.ts); a rule that needs a wrapped response, MFA or a control
   * group approval (which Strongroom does not offer) grants nothing; comment is only kept.
   */
  extras?: Record<string, HclValue>;
}

export interface PolicyDocument {
  name: string;
  rules: PathRule[];
  /** The text as written (returned by reads, like Vault). */
  raw: string;
}

/** What limits a rule on requests beyond its capabilities (see PathRule.extras). */
export type RuleCondition = 'parameters' | 'wrapping_ttl' | 'mfa' | 'control_group';

/** One policy rule as written, named in an explanation of a decision. */
export interface RuleSource {
  /** The policy that holds it; absent when the ACL was compiled from unnamed rules. */
  policy?: string;
  /** The pattern as written (a templated pattern before resolution). */
  pattern: string;
  /** Where its path block starts in the policy's text, when known. */
  line?: number;
  column?: number;
  capabilities: Capability[];
  /** What further limits it on requests (not applied by sys/capabilities, as in Vault). */
  conditions: RuleCondition[];
}

/** Why an ACL answers what it answers on a path (Acl.explain). */
export interface AclDecision {
  /** Exactly `capabilities(path)`. */
  capabilities: Set<Capability>;
  /** The rule that decided: absent when no pattern matches (nothing granted) and for the root policy. */
  rule?: {
    /** The pattern that matched, as matched: normalized, a template resolved. */
    pattern: string;
    /** A deny in one of its sources won: nothing is granted. */
    deny: boolean;
    /** It needs what Strongroom does not offer (MFA, a control group) or has an unreadable wrapping TTL: requests get nothing. */
    grantsNothing: boolean;
    /** Every policy rule with this exact pattern: identical patterns merge (a union, where a deny wins). */
    sources: RuleSource[];
  };
}

/** A compiled set of policies, built once per distinct policy set and cached. */
export interface Acl {
  /**
   * The decision on `path` and the rule that made it: the same lookup as `capabilities`, so its capabilities always
   * equal sys/capabilities' answer. For people (the console's simulator), not the hot path.
   */
  explain(path: string): AclDecision;
  /**
   * Capabilities that apply to `path`: empty when nothing matches, {'deny'} when the applicable rule denies, every
   * capability except 'deny' for the root policy (transports answer ['root'] when `isRoot`). A fresh set per call.
   */
  capabilities(path: string): Set<Capability>;
  /**
   * Whether `capability` is granted on `path`. For 'list', like Vault, a rule written without the trailing slash
   * also applies to the listing path with one ('secret/metadata/app' grants listing 'secret/metadata/app/').
   */
  /**
   * `listing`: the request is a LIST, so the rule that applies is found with the list lookup (a rule for the
   * directory without its trailing slash applies too) — for every capability the request needs, e.g. sudo.
   */
  /**
   * `data`: the request's data (JSON body for writes, query parameters for reads). When given and the capability is
   * read, create, update or patch, the applicable rule's parameter constraints (allowed_parameters,
   * denied_parameters, required_parameters) must also be satisfied, with Vault's semantics.
   */
  /**
   * `wrapTtl`: the response-wrapping TTL the request asked for (seconds; absent = not wrapped). A rule with Vault's
   * min_wrapping_ttl / max_wrapping_ttl grants only to requests wrapped within them.
   */
  allows(
    path: string,
    capability: Exclude<Capability, 'deny'>,
    options?: { listing?: boolean; data?: Readonly<Record<string, unknown>>; wrapTtl?: number },
  ): boolean;
  /**
   * Whether some rule grants a capability (other than deny) on a path under `prefix` — Vault's mount-access check,
   * for endpoints that describe a mount to callers who can use something in it.
   */
  grantsUnder(prefix: string): boolean;
  readonly isRoot: boolean;
}

/**
 * Errors: 'invalid' for a document that does not parse (message names line and column) or an unknown capability;
 * 'invalid' when writing or deleting 'root' or deleting 'default'; 'not_found' when reading a missing policy.
 * Deleting a missing policy succeeds, as in Vault. Names are lowercased; `list()` includes 'default' and 'root'.
 */
export interface PolicyService {
  write(name: string, text: string): Promise<PolicyDocument>;
  /**
   * Checks a policy exactly as `write` would (name, text, every rule) without storing it: the same errors, or the
   * rules with the line and column of each. For editors that validate as one types.
   */
  check(name: string, text: string): { name: string; rules: Array<PathRule & { line: number; column: number }> };
  /**
   * The ACL an unsaved policy text would give on its own (checked as `write` checks it), named `name` in
   * explanations. Templated rules grant nothing here: there is no identity to resolve them for.
   */
  draftAcl(name: string, text: string): Acl;
  read(name: string): Promise<PolicyDocument>;
  list(): Promise<string[]>;
  delete(name: string): Promise<void>;
  /**
   * Compiles the named policies (unknown names are ignored, as Vault does); cached and invalidated on writes.
   * `identity`: who the token acts for, to resolve templated paths (`{{identity.entity.id}}`, ...); a path whose
   * template cannot be resolved for this identity (or when none is given) grants nothing, as in Vault.
   */
  acl(policyNames: readonly string[], identity?: PolicyIdentity): Promise<Acl>;
}

/**
 * What Vault's policy templates can name (https://developer.hashicorp.com/vault/docs/concepts/policies#templated-policies):
 * the entity's id, name and metadata; each alias by its mount accessor (id, name, metadata, custom_metadata); each
 * group by id and by name (id, name, metadata).
 */
export interface PolicyIdentity {
  entity: {
    id: string;
    name: string;
    metadata: Record<string, string>;
    aliases: Array<{
      id: string;
      name: string;
      mountAccessor: string;
      metadata: Record<string, string>;
      customMetadata: Record<string, string>;
    }>;
  };
  groups: Array<{ id: string; name: string; metadata: Record<string, string> }>;
}
