import type { Barrier } from '../../crypto/types.js';
import { defineAuthMethod } from '../../logical/module.js';
import type { Storage } from '../../storage/database.js';
import type { AuthMountRef, KubernetesAuthService } from '../types.js';
import type { LoginService } from '../login.js';
import { migrations } from './migrations.js';
import { purgeKubernetesMount } from './repository.js';
import { createKubernetesBackend } from './routes.js';
import { createKubernetesAuthService, type KubernetesAuthDeps } from './service.js';

/** The Kubernetes method for every mount: one service per mount (one cluster's configuration and roles). */
export interface KubernetesMethod {
  forMount(mount: AuthMountRef): KubernetesAuthService;
  purgeMount(mountUuid: string): Promise<void>;
}

export function createKubernetesMethod(deps: {
  storage: Storage;
  logins: LoginService;
  barrier: Barrier;
  fetch?: KubernetesAuthDeps['fetch'];
}): KubernetesMethod {
  return {
    forMount: (mount) =>
      createKubernetesAuthService({
        ...deps,
        mount: { uuid: mount.uuid, path: mount.path, accessor: mount.accessor, type: mount.type },
      }),
    purgeMount: (uuid) => purgeKubernetesMount(deps.storage, uuid),
  };
}

/** Vault's Kubernetes auth method, mountable once per cluster at any path. */
export const kubernetesAuth = defineAuthMethod({
  type: 'kubernetes',
  migrations,
  createService: (core) => createKubernetesMethod(core),
  routes: (method, mount) => createKubernetesBackend({ kubernetes: method.forMount(mount) }),
  purge: (method, mount) => method.purgeMount(mount.uuid),
});
