import type { Storage } from '../../storage/database.js';
import { defineAuthMethod } from '../../logical/module.js';
import type { AppRoleService, AuthMountRef } from '../types.js';
import type { LoginService } from '../login.js';
import type { Barrier } from '../../crypto/types.js';
import { migrations } from './migrations.js';
import { createAppRoleTables } from './repository.js';
import { createAppRoleBackend } from './routes.js';
import { createAppRoleService } from './service.js';

/** Expired secret-ids are already refused on use; the tidy only reclaims their rows. */
export const APPROLE_TIDY_INTERVAL_MS = 60_000;

/** The AppRole method for every mount: one service per mount, scoped to it; tidy and purge across mounts. */
export interface AppRoleMethod {
  forMount(mount: AuthMountRef): AppRoleService;
  tidyAll(): Promise<number>;
  purgeMount(mountUuid: string): Promise<void>;
}

export function createAppRoleMethod(deps: { storage: Storage; logins: LoginService; barrier: Barrier }): AppRoleMethod {
  const tables = createAppRoleTables(deps.storage);
  return {
    forMount: (mount) =>
      createAppRoleService({
        ...deps,
        mount: { uuid: mount.uuid, path: mount.path, accessor: mount.accessor, type: mount.type },
      }),
    tidyAll: () => tables.deleteExpiredSecretIds(Date.now()),
    purgeMount: (uuid) => tables.purgeMount(uuid),
  };
}

/** Vault's AppRole auth method, mountable at any path, any number of times. */
export const approleAuth = defineAuthMethod({
  type: 'approle',
  migrations,
  createService: (core) => createAppRoleMethod(core),
  routes: (method, mount) => createAppRoleBackend({ approle: method.forMount(mount) }),
  jobs: (method) => [
    {
      name: 'approle-secret-id-tidy',
      intervalMs: APPROLE_TIDY_INTERVAL_MS,
      run: async () => {
        const count = await method.tidyAll();
        return count > 0 ? `tidy removed ${count} expired AppRole secret ID(s)` : undefined;
      },
    },
  ],
  purge: (method, mount) => method.purgeMount(mount.uuid),
});
