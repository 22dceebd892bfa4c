import { defineAuthMethod, type AuthMethodModule } from '../../logical/module.js';
import type { ModuleCore } from '../../logical/module.js';
import type { AuthMountRef } from '../types.js';
import { migrations } from './migrations.js';
import { createProviderCaches } from './provider-cache.js';
import type { Rewrapper } from '../../crypto/types.js';
import { createJwtRepository, purgeJwtMount, replaceClientSecret, sealedClientSecrets } from './repository.js';
import { createJwtBackend } from './routes.js';
import { clientSecretContext, createJwtAuthService } from './service.js';
import type { JwtAuthService } from './types.js';

/** The JWT/OIDC method for every mount of one type: a service per mount, provider caches shared by all. */
export interface JwtMethod {
  forMount(mount: AuthMountRef): JwtAuthService;
  purgeMount(mountUuid: string): Promise<void>;
  /** Deletes OIDC states past their ten minutes (never redeemed); returns how many. */
  tidyStates(): Promise<number>;
  /**
   * Moves sealed client secrets onto the newest keyring term. Pending OIDC states are not rewrapped: they live ten
   * minutes, and the keyring keeps older terms readable.
   */
  rewrapper: Rewrapper;
}

export function createJwtMethod(core: Pick<ModuleCore, 'storage' | 'barrier' | 'logins'>): JwtMethod {
  const providers = createProviderCaches();
  return {
    forMount: (mount) =>
      createJwtAuthService({
        storage: core.storage,
        barrier: core.barrier,
        logins: core.logins,
        providers,
        mount: { uuid: mount.uuid, path: mount.path, accessor: mount.accessor, type: mount.type },
      }),
    purgeMount: (uuid) => purgeJwtMount(core.storage, uuid),
    tidyStates: () => createJwtRepository(core.storage, '').deleteExpiredStates(Date.now()),
    rewrapper: {
      name: 'auth-jwt',
      async rewrapBatch(batchSize) {
        const stale = (await sealedClientSecrets(core.storage)).filter(
          (row) => core.barrier.termOf(row.sealed) < core.barrier.currentTerm(),
        );
        let moved = 0;
        for (const row of stale.slice(0, batchSize)) {
          const context = clientSecretContext(row.mountUuid);
          const next = core.barrier.encrypt(await core.barrier.decryptWithRefresh(row.sealed, context), context);
          if (await replaceClientSecret(core.storage, row.mountUuid, row.sealed, next)) moved++;
        }
        return moved;
      },
      async countStale() {
        const rows = await sealedClientSecrets(core.storage);
        return rows.filter((row) => core.barrier.termOf(row.sealed) < core.barrier.currentTerm()).length;
      },
    },
  };
}

/**
 * Vault's JWT/OIDC plugin is one implementation mounted under two type names; so is this one. Only `jwt` owns the
 * migrations (they run once) and the tidy of expired OIDC states (it covers every mount of both types).
 */
function jwtFamily(type: 'jwt' | 'oidc'): AuthMethodModule<JwtMethod> {
  return defineAuthMethod({
    type,
    migrations: type === 'jwt' ? migrations : {},
    createService: (core) => createJwtMethod(core),
    routes: (method, mount) => createJwtBackend({ jwt: method.forMount(mount), mountType: type }),
    purge: (method, mount) => method.purgeMount(mount.uuid),
    ...(type === 'jwt'
      ? {
          rewrapper: (method: JwtMethod) => method.rewrapper,
          jobs: (method: JwtMethod) => [
            {
              name: 'jwt-oidc-state-tidy',
              intervalMs: 60_000,
              run: async () => {
                const removed = await method.tidyStates();
                return removed > 0 ? `removed ${removed} expired OIDC login states` : undefined;
              },
            },
          ],
        }
      : {}),
  });
}

export const jwtAuth = jwtFamily('jwt');
export const oidcAuth = jwtFamily('oidc');
