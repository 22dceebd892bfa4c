import type { PolicyIdentity } from '../policy/types.js';

/**
 * Identity (Vault's identity secrets engine at identity/): one entity per person or workload, across auth mounts;
 * one alias per (auth mount, name the method knows the caller by); internal groups (members listed) and external
 * groups (membership given by an identity provider through a group alias on an auth mount). Policies attached to an
 * entity and to its groups (and their parent groups) add to a token's own. This file is the contract the login
 * service, the ACL and the modules rely on; the identity module adds its HTTP paths on top.
 */

/** The auth mount a login came through. */
export interface LoginMount {
  /** 'auth_userpass_1a2b3c4d': aliases and templated policies name mounts by accessor, as Vault does. */
  accessor: string;
  /** Relative to auth/, ending in '/'. */
  path: string;
  /** The method's type: 'userpass', 'kubernetes', 'jwt', ... (Vault's alias mount_type). */
  type: string;
}

/** Who the method says the caller is: the alias name and the facts it vouches for (never a secret). */
export interface AliasFacts {
  /**
   * Vault's alias name per method: userpass the username; kubernetes the service account uid (or
   * namespace/name, per the role's alias_name_source); approle the role id; jwt/oidc the role's user_claim.
   */
  name: string;
  /** Vault's alias metadata: kubernetes service_account_name/namespace/uid, jwt claim_mappings, approle role_name. */
  metadata: Record<string, string>;
}

/**
 * Everything the hot path needs about one entity: templated policies read its names and metadata, the ACL adds its
 * policies and its groups' (direct and inherited through parent groups), the pipeline refuses a disabled entity.
 */
export interface IdentitySnapshot extends PolicyIdentity {
  entity: PolicyIdentity['entity'] & { disabled: boolean; policies: string[] };
  groups: Array<PolicyIdentity['groups'][number] & { policies: string[] }>;
}

/** What the login service and the ACL need from the identity store. */
export interface IdentityResolver {
  /**
   * Vault's login-time identity step. Finds the alias (mount accessor, name) or creates it with a new entity (named
   * `entity_<uuid>` as Vault does); stores the alias's current metadata; when `groupAliases` is given (an OIDC
   * `groups` claim), makes the entity a member of exactly those external groups whose alias on this mount is one of
   * those names (joining and leaving as the claim changes). Returns the entity as it now is.
   */
  resolveLogin(input: { mount: LoginMount; alias: AliasFacts; groupAliases?: string[] }): Promise<IdentitySnapshot>;
  /**
   * Hot path, on every request of a token with an entity: answered from memory, refreshed when this replica or
   * another one changes identity (a generation counter, as the policy cache does). undefined: no such entity
   * (deleted), so the token has only its own policies.
   */
  snapshot(entityId: string): Promise<IdentitySnapshot | undefined>;
}

/**
 * Identity policies of an entity: its own and every group's, deduplicated, sorted. Never 'root': the store refuses it
 * on write, and should one ever be stored anyway, an identity must not turn a token into a root token (fail closed).
 */
export function identityPolicies(snapshot: IdentitySnapshot | undefined): string[] {
  if (!snapshot) return [];
  const all = new Set(snapshot.entity.policies.map((p) => p.toLowerCase()));
  for (const group of snapshot.groups) for (const p of group.policies) all.add(p.toLowerCase());
  // Policy names are case-insensitive: 'Root' would compile to the root ACL, so it goes too.
  all.delete('root');
  return [...all].sort();
}
