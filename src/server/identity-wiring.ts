import { createLoginService, NO_MFA, type LoginService, type MfaGate } from '../auth/login.js';
import type { TokenService } from '../auth/types.js';
import type { Barrier } from '../crypto/types.js';
import { createAccessResolver, type AccessResolver } from '../identity/access.js';
import type { AuthMountDirectory, IdentityStore } from '../identity/model.js';
import { createIdentityService } from '../identity/service.js';
import type { MountService } from '../mounts/types.js';
import type { PolicyService } from '../policy/types.js';
import type { Storage } from '../storage/database.js';

/** Identity, login MFA, the login service and the access resolver, wired as the store and the test harness use them. */
export interface IdentityWiring {
  identity: IdentityStore;
  mfa: MfaGate;
  logins: LoginService;
  access: AccessResolver;
}

export function wireIdentity(deps: {
  storage: Storage;
  barrier: Barrier;
  tokens: TokenService;
  policy: Pick<PolicyService, 'acl'>;
  /** The auth mount table: identity aliases name an auth mount by its accessor. */
  authMounts: Pick<MountService, 'list'>;
  clock?: () => number;
}): IdentityWiring {
  void deps.barrier;
  const identity = createIdentityService({
    storage: deps.storage,
    mounts: authMountDirectory(deps.authMounts),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const mfa: MfaGate = NO_MFA;
  const logins = createLoginService({ identity, mfa, tokens: deps.tokens });
  const access = createAccessResolver({ policy: deps.policy, identity });
  return { identity, mfa, logins, access };
}

/** Auth mounts by accessor, from the mount table (not a hot path: only identity/ writes and reads ask). */
function authMountDirectory(authMounts: Pick<MountService, 'list'>): AuthMountDirectory {
  return {
    async byAccessor(accessor) {
      const mount = (await authMounts.list()).find((m) => m.accessor === accessor);
      return mount ? { accessor: mount.accessor, path: mount.path, type: mount.type } : undefined;
    },
  };
}
