import type { BackendPath } from '../../logical/backend.js';
import type { ModuleCore } from '../../logical/module.js';
import { mfaPaths } from './routes.js';
import { createMfaService } from './service.js';
import type { MfaDirectory } from './types.js';

/**
 * Login MFA's identity/mfa/* paths as the identity module serves them (`identityEngineWith`), over an MFA service
 * built from the core: entities and groups from the identity store, auth mounts from the auth mount table.
 */
export function identityMfaPaths(
  core: Pick<ModuleCore, 'storage' | 'barrier' | 'identity' | 'authMounts'>,
): BackendPath[] {
  const directory: MfaDirectory = {
    entityExists: async (id) => (await core.identity.readEntity({ id })) !== undefined,
    groupExists: async (id) => (await core.identity.readGroup({ id })) !== undefined,
    authMounts: async () => (await core.authMounts.list()).map((m) => ({ accessor: m.accessor, type: m.type })),
  };
  return mfaPaths({ mfa: createMfaService({ storage: core.storage, barrier: core.barrier, directory }) });
}
