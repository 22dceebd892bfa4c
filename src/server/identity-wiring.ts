import { createLoginService, NO_MFA, type LoginService, type MfaGate } from '../auth/login.js';
import type { TokenService } from '../auth/types.js';
import type { Barrier } from '../crypto/types.js';
import { createAccessResolver, type AccessResolver } from '../identity/access.js';
import { NO_IDENTITY } from '../identity/none.js';
import type { IdentityResolver } from '../identity/types.js';
import type { PolicyService } from '../policy/types.js';
import type { Storage } from '../storage/database.js';

/** Identity, login MFA, the login service and the access resolver, wired as the store and the test harness use them. */
export interface IdentityWiring {
  identity: IdentityResolver;
  mfa: MfaGate;
  logins: LoginService;
  access: AccessResolver;
}

export function wireIdentity(deps: {
  storage: Storage;
  barrier: Barrier;
  tokens: TokenService;
  policy: Pick<PolicyService, 'acl'>;
  clock?: () => number;
}): IdentityWiring {
  void deps.storage;
  void deps.barrier;
  const identity: IdentityResolver = NO_IDENTITY;
  const mfa: MfaGate = NO_MFA;
  const logins = createLoginService({ identity, mfa, tokens: deps.tokens });
  const access = createAccessResolver({ policy: deps.policy, identity });
  return { identity, mfa, logins, access };
}
