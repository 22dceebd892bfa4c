import type { Barrier } from '../../crypto/types.js';
import { defineAuthMethod, type SystemAudit } from '../../logical/module.js';
import type { Storage } from '../../storage/database.js';
import { createUserLockout } from '../lockout/service.js';
import type { UserLockout } from '../lockout/types.js';
import type { LoginService } from '../login.js';
import type { AuthMountRef } from '../types.js';
import { migrations } from './migrations.js';
import { purgeUserpassMount } from './repository.js';
import { createUserpassBackend } from './routes.js';
import { createUserpassService } from './service.js';
import type { UserpassService } from './types.js';

/** Counts that no longer matter (reset and lock both past) are already ignored; the tidy only reclaims their rows. */
export const LOCKOUT_TIDY_INTERVAL_MS = 60_000;

/** The userpass method for every mount: one service per mount, scoped to it; the lockout counts are shared. */
export interface UserpassMethod {
  forMount(mount: AuthMountRef): UserpassService;
  lockout: UserLockout;
  purgeMount(mount: AuthMountRef): Promise<void>;
}

export function createUserpassMethod(deps: {
  storage: Storage;
  barrier: Barrier;
  logins: LoginService;
  systemAudit: SystemAudit;
}): UserpassMethod {
  const lockout = createUserLockout({ storage: deps.storage, systemAudit: deps.systemAudit });
  return {
    forMount: (mount) =>
      createUserpassService({
        ...deps,
        lockout,
        mount: { uuid: mount.uuid, path: mount.path, accessor: mount.accessor, type: mount.type },
      }),
    lockout,
    async purgeMount(mount) {
      await purgeUserpassMount(deps.storage, mount.uuid);
      await lockout.purgeMount(mount.accessor);
    },
  };
}

/** Vault's userpass auth method (people with a username and password), mountable at any path, any number of times. */
export const userpassAuth = defineAuthMethod({
  type: 'userpass',
  migrations,
  createService: (core) => createUserpassMethod(core),
  routes: (method, mount) => createUserpassBackend({ userpass: method.forMount(mount) }),
  jobs: (method) => [
    {
      name: 'userpass-lockout-tidy',
      intervalMs: LOCKOUT_TIDY_INTERVAL_MS,
      run: async () => {
        const count = await method.lockout.tidy();
        return count > 0 ? `tidy removed ${count} stale failed-login count(s)` : undefined;
      },
    },
  ],
  purge: (method, mount) => method.purgeMount(mount),
});
