import type { TokenInfo } from '../auth/types.js';
import type { Acl, PolicyService } from '../policy/types.js';
import { forbidden } from '../shared/errors.js';
import { identityPolicies, type IdentityResolver, type IdentitySnapshot } from './types.js';

/**
 * What a token may do: its own policies, plus its entity's and its groups' (Vault's identity policies), with
 * templated paths resolved for that entity. Every place that judges a token (the pipeline, sys/capabilities, the
 * unwrap caller check) asks here, so none of them can forget the identity half.
 */
export interface AccessResolver {
  /** 'forbidden' ("permission denied") when the token's entity is disabled, as Vault refuses it. */
  acl(token: TokenInfo): Promise<Acl>;
  /** The entity's and groups' policies (Vault's identity_policies); [] without an entity. */
  identityPolicies(token: TokenInfo): Promise<string[]>;
}

export function createAccessResolver(deps: {
  policy: Pick<PolicyService, 'acl'>;
  identity: Pick<IdentityResolver, 'snapshot'>;
}): AccessResolver {
  async function snapshotOf(token: TokenInfo): Promise<IdentitySnapshot | undefined> {
    if (!token.entityId) return undefined;
    const snapshot = await deps.identity.snapshot(token.entityId);
    if (snapshot?.entity.disabled) throw forbidden('permission denied');
    return snapshot;
  }
  return {
    async acl(token) {
      const snapshot = await snapshotOf(token);
      if (!snapshot) return deps.policy.acl(token.policies);
      return deps.policy.acl([...token.policies, ...identityPolicies(snapshot)], snapshot);
    },
    async identityPolicies(token) {
      return identityPolicies(await snapshotOf(token));
    },
  };
}
