import type { TokenInfo } from '../types.js';
import { rfc3339, secondsUntil } from '../../logical/time.js';

/** Vault's `auth` block for a freshly issued (or renewed) token. `token` is '' when renewing by accessor. */
export function authBlock(token: string, info: TokenInfo): Record<string, unknown> {
  return {
    client_token: token,
    accessor: info.accessor,
    policies: info.policies,
    token_policies: info.policies,
    identity_policies: null,
    metadata: Object.keys(info.meta).length > 0 ? info.meta : null,
    lease_duration: info.expireTime > 0 ? secondsUntil(info.expireTime) : 0,
    renewable: info.renewable,
    entity_id: info.entityId,
    token_type: 'service',
    orphan: info.orphan,
    mfa_requirement: null,
    num_uses: info.numUses,
  };
}

/** Vault's token lookup data. `id` is the token itself when the caller presented it, '' for accessor lookups. */
export function lookupData(id: string, info: TokenInfo): Record<string, unknown> {
  return {
    accessor: info.accessor,
    creation_time: Math.floor(info.creationTime / 1000),
    // What the token was granted at creation, not what is left (that is `ttl`).
    creation_ttl: info.creationTtl,
    display_name: info.displayName,
    entity_id: info.entityId,
    expire_time: info.expireTime > 0 ? rfc3339(info.expireTime) : null,
    explicit_max_ttl: info.explicitMaxTtl,
    id,
    // No identity_policies: Vault adds it only for a token whose entity has identity policies (there are no entities).
    issue_time: rfc3339(info.issueTime),
    meta: Object.keys(info.meta).length > 0 ? info.meta : null,
    num_uses: info.numUses,
    orphan: info.orphan,
    path: info.path,
    policies: info.policies,
    renewable: info.renewable,
    ttl: info.expireTime > 0 ? secondsUntil(info.expireTime) : 0,
    type: 'service',
    // Vault shows these only when set (its token store adds `period` only for a periodic token, not as null).
    ...(info.period > 0 ? { period: info.period } : {}),
    ...(info.role ? { role: info.role } : {}),
    ...(info.boundCidrs.length > 0 ? { bound_cidrs: info.boundCidrs } : {}),
  };
}

/** Non-secret identity of a login, for the audit entry. */
export function loginAuditAuth(info: TokenInfo): Record<string, unknown> {
  return { display_name: info.displayName, policies: info.policies, auth_method: info.authMethod, ...info.meta };
}
