import type { AppRoleService, KubernetesAuthService, TokenService } from '../auth/types.js';
import type { Barrier } from '../crypto/types.js';
import { StrongroomError } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';

/**
 * Builds the Kubernetes and AppRole auth methods. They are loaded by module path so a build in which either is
 * missing still serves everything else; their endpoints then answer 503 with a clear message.
 */
export async function loadAuthMethods(deps: {
  storage: Storage;
  barrier: Barrier;
  tokens: TokenService;
}): Promise<{ kubernetes: KubernetesAuthService; approle: AppRoleService }> {
  const kubernetesModule = await importOptional('../auth/kubernetes/service.js');
  const approleModule = await importOptional('../auth/approle/service.js');
  const kubernetes =
    typeof kubernetesModule?.createKubernetesAuthService === 'function'
      ? (kubernetesModule.createKubernetesAuthService as (d: unknown) => KubernetesAuthService)({ storage: deps.storage, tokens: deps.tokens, barrier: deps.barrier })
      : unavailable<KubernetesAuthService>('Kubernetes auth');
  const approle =
    typeof approleModule?.createAppRoleService === 'function'
      ? (approleModule.createAppRoleService as (d: unknown) => AppRoleService)({ storage: deps.storage, tokens: deps.tokens, barrier: deps.barrier })
      : unavailable<AppRoleService>('AppRole auth');
  return { kubernetes, approle };
}

async function importOptional(specifier: string): Promise<Record<string, unknown> | null> {
  try {
    return (await import(new URL(specifier, import.meta.url).href)) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw err;
  }
}

function unavailable<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: () => async () => {
      throw new StrongroomError('unavailable', `${what} is not available in this build`);
    },
  });
}
