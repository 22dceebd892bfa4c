/**
 * Vault ACL policies. Documents are HCL or JSON:
 *   path "secret/data/app/*" { capabilities = ["read", "list"] }
 * Patterns: a trailing '*' is a prefix glob; '+' matches exactly one path segment. When several patterns match a
 * request path only the most specific one applies (Vault's priority rules); identical patterns from several
 * policies merge their capabilities; 'deny' in the applicable rule wins over everything.
 */
export type Capability = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list' | 'sudo' | 'deny';

export interface PathRule {
  pattern: string;
  capabilities: Capability[];
}

export interface PolicyDocument {
  name: string;
  rules: PathRule[];
  /** The text as written (returned by reads, like Vault). */
  raw: string;
}

/** A compiled set of policies, built once per distinct policy set and cached. */
export interface Acl {
  /** Capabilities that apply to `path` (empty when nothing matches; ['root'] semantics for the root policy). */
  capabilities(path: string): Set<Capability>;
  allows(path: string, capability: Exclude<Capability, 'deny'>): boolean;
  readonly isRoot: boolean;
}

/**
 * Errors: 'invalid' for a document that does not parse (message names line and column) or an unknown capability;
 * 'invalid' when writing or deleting 'root' or deleting 'default'; 'not_found' for a missing policy.
 */
export interface PolicyService {
  write(name: string, text: string): Promise<PolicyDocument>;
  read(name: string): Promise<PolicyDocument>;
  list(): Promise<string[]>;
  delete(name: string): Promise<void>;
  /** Compiles the named policies (unknown names are ignored, as Vault does); cached and invalidated on writes. */
  acl(policyNames: readonly string[]): Promise<Acl>;
}
