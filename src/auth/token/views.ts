import type { TokenInfo } from '../types.js';
import type { HandlerResult } from '../../logical/backend.js';
import { rfc3339, secondsUntil } from '../../logical/time.js';
import type { LoginOutcome, MfaRequirement } from '../login.js';

/**
 * Vault's `auth` block for a freshly issued (or renewed) token. `token` is '' when renewing by accessor.
 * `identityPolicies`: the entity's and its groups' policies; `policies` is the union, as Vault answers.
 */
export function authBlock(
  token: string,
  info: TokenInfo,
  identityPolicies: readonly string[] = [],
): Record<string, unknown> {
  const policies =
    identityPolicies.length > 0 ? [...new Set([...info.policies, ...identityPolicies])].sort() : info.policies;
  return {
    client_token: token,
    accessor: info.accessor,
    policies,
    token_policies: info.policies,
    identity_policies: identityPolicies.length > 0 ? [...identityPolicies] : null,
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

/**
 * Vault's token lookup data. `id` is the token itself when the caller presented it, '' for accessor lookups.
 * `identityPolicies`: what the token's entity and its groups add, shown (as Vault) only when there are some.
 */
export function lookupData(
  id: string,
  info: TokenInfo,
  identityPolicies: readonly string[] = [],
): Record<string, unknown> {
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
    ...(identityPolicies.length > 0 ? { identity_policies: [...identityPolicies] } : {}),
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
  return {
    display_name: info.displayName,
    policies: info.policies,
    auth_method: info.authMethod,
    ...(info.entityId ? { entity_id: info.entityId } : {}),
    ...info.meta,
  };
}

const MFA_WARNING =
  'A login request was issued that is subject to MFA validation. Please make sure to validate the login by sending ' +
  'another request to mfa/validate endpoint.';

/**
 * What every login path answers: the token's auth block, or, when login MFA applies, Vault's empty auth block with
 * the `mfa_requirement` the client completes through sys/mfa/validate (no token exists yet).
 */
export function loginReply(outcome: LoginOutcome): HandlerResult {
  if (outcome.kind === 'token') {
    return {
      auth: authBlock(outcome.token, outcome.info, outcome.identityPolicies),
      auditAuth: loginAuditAuth(outcome.info),
    };
  }
  return { auth: mfaAuthBlock(outcome.requirement), warnings: [MFA_WARNING] };
}

function mfaAuthBlock(requirement: MfaRequirement): Record<string, unknown> {
  const constraints: Record<string, unknown> = {};
  for (const [name, constraint] of Object.entries(requirement.constraints)) {
    constraints[name] = {
      any: constraint.any.map((m) => ({ type: m.type, id: m.id, uses_passcode: m.usesPasscode, name: m.name })),
    };
  }
  return {
    client_token: '',
    accessor: '',
    policies: null,
    token_policies: null,
    identity_policies: null,
    metadata: null,
    lease_duration: 0,
    renewable: false,
    entity_id: '',
    token_type: '',
    orphan: false,
    mfa_requirement: { mfa_request_id: requirement.requestId, mfa_constraints: constraints },
    num_uses: 0,
  };
}
