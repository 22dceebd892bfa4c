import type { AliasFacts, IdentityResolver, LoginMount } from '../identity/types.js';
import { identityPolicies } from '../identity/types.js';
import { forbidden, invalid } from '../shared/errors.js';
import type { IssueTokenInput, TokenInfo, TokenService } from './types.js';

/**
 * The one way a login becomes a token, whatever the method: the method proves who the caller is and says which
 * token they get; this service attaches the identity (entity and alias, external groups), asks the MFA gate whether
 * a second factor is required (Vault's login MFA), and only then mints the token. A method never calls
 * `tokens.issue` itself, so no method can skip identity or MFA.
 */
export interface LoginRequest {
  mount: LoginMount;
  alias: AliasFacts;
  /** External group names the identity provider vouches for (an OIDC `groups` claim); absent = leave as is. */
  groupAliases?: string[];
  /** The token the login earns (policies, TTLs, display name, metadata, path). `entityId` is filled in here. */
  token: Omit<IssueTokenInput, 'entityId'>;
  /** Single-phase MFA: Vault's `X-Vault-MFA` header values ("<method name or id>:<passcode>"). */
  mfaCredentials?: readonly string[];
}

/** A login that passed the method and the identity step: what the token will be, and for whom. */
export interface VerifiedLogin {
  mount: LoginMount;
  entityId: string;
  /** Every group the entity is in (direct and inherited), for MFA enforcement by group. */
  groupIds: string[];
  token: IssueTokenInput;
}

/** Vault's `auth.mfa_requirement`: the login waits for `sys/mfa/validate` with this request id. */
export interface MfaRequirement {
  requestId: string;
  /** Keyed by login-enforcement name; any one method of each constraint must be satisfied. */
  constraints: Record<string, { any: Array<{ type: string; id: string; name: string; usesPasscode: boolean }> }>;
}

/**
 * Vault's login MFA, as the login service sees it. `check` decides whether an enforcement applies to this login; when
 * one does and `credentials` do not satisfy it, the login is parked (durably, sealed, for a few minutes) and the
 * requirement is returned. `resume` validates the payload of `sys/mfa/validate` and hands the parked login back once
 * (a request id is single-use; failed attempts are limited).
 */
export interface MfaGate {
  check(login: VerifiedLogin, credentials?: readonly string[]): Promise<MfaRequirement | null>;
  resume(requestId: string, payload: Readonly<Record<string, readonly string[]>>): Promise<VerifiedLogin>;
}

/** No login MFA configured anywhere (tests and tools that have no identity store). */
export const NO_MFA: MfaGate = {
  check: async () => null,
  resume: async () => {
    throw forbidden('invalid or expired MFA request id');
  },
};

export interface IssuedLogin {
  token: string;
  info: TokenInfo;
  /** The entity's and groups' policies at login time (Vault's identity_policies in the auth block). */
  identityPolicies: string[];
}

export type LoginOutcome = ({ kind: 'token' } & IssuedLogin) | { kind: 'mfa'; requirement: MfaRequirement };

export interface LoginService {
  complete(request: LoginRequest): Promise<LoginOutcome>;
  /** sys/mfa/validate: the second half of a login that `complete` parked. */
  resume(requestId: string, payload: Readonly<Record<string, readonly string[]>>): Promise<IssuedLogin>;
}

/** The identity store's alias name column (varchar(512)). */
const MAX_ALIAS_NAME = 512;

export function createLoginService(deps: {
  identity: IdentityResolver;
  mfa: MfaGate;
  tokens: Pick<TokenService, 'issue'>;
}): LoginService {
  async function issue(login: VerifiedLogin): Promise<IssuedLogin> {
    const snapshot = login.entityId ? await deps.identity.snapshot(login.entityId) : undefined;
    // A disabled entity cannot log in (Vault refuses it at login as well as on use).
    if (snapshot?.entity.disabled) throw forbidden('permission denied');
    const issued = await deps.tokens.issue(login.token);
    return { ...issued, identityPolicies: identityPolicies(snapshot) };
  }

  return {
    async complete(request) {
      // The name a method vouches for comes from the caller (a username, a JWT claim): bound it before it reaches
      // the identity store's columns, whatever the method, so an oversized one is a clear refusal and not a 500.
      if (request.alias.name === '' || request.alias.name.length > MAX_ALIAS_NAME)
        throw invalid(`the login's alias name must be 1 to ${MAX_ALIAS_NAME} characters`);
      const snapshot = await deps.identity.resolveLogin({
        mount: request.mount,
        alias: request.alias,
        ...(request.groupAliases ? { groupAliases: request.groupAliases } : {}),
      });
      if (snapshot.entity.disabled) throw forbidden('permission denied');
      const login: VerifiedLogin = {
        mount: request.mount,
        entityId: snapshot.entity.id,
        groupIds: snapshot.groups.map((g) => g.id),
        token: { ...request.token, ...(snapshot.entity.id ? { entityId: snapshot.entity.id } : {}) },
      };
      const requirement = await deps.mfa.check(login, request.mfaCredentials);
      if (requirement) return { kind: 'mfa', requirement };
      return { kind: 'token', ...(await issue(login)) };
    },
    async resume(requestId, payload) {
      return issue(await deps.mfa.resume(requestId, payload));
    },
  };
}
