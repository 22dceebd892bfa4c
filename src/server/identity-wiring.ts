import { createLoginService, type LoginService, type MfaGate } from '../auth/login.js';
import type { TokenService } from '../auth/types.js';
import type { Barrier, Rewrapper } from '../crypto/types.js';
import { createAccessResolver, type AccessResolver } from '../identity/access.js';
import { createMfaGate } from '../identity/mfa/gate.js';
import { createMfaRewrapper } from '../identity/mfa/service.js';
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
  /** Where the TOTP keys' rewrapper registers (the store's seal); tests without rotation leave it out. */
  seal?: { registerRewrapper(rewrapper: Rewrapper): void };
}): IdentityWiring {
  const identity: IdentityResolver = NO_IDENTITY;
  // Vault's login MFA: enforcements and TOTP secrets in the database, parked logins sealed with the barrier.
  const mfa: MfaGate = createMfaGate({
    storage: deps.storage,
    barrier: deps.barrier,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  deps.seal?.registerRewrapper(createMfaRewrapper(deps));
  const logins = createLoginService({ identity, mfa, tokens: deps.tokens });
  const access = createAccessResolver({ policy: deps.policy, identity });
  return { identity, mfa, logins, access };
}
