/**
 * Builds the lease lifecycle from the operator's pieces: generators read through the API (fresh, not from a cache:
 * a changed generator must be seen), their stores resolved and checked like an ExternalSecret's own, and clients from
 * the operator's pool.
 */
import type { CoreV1Api, CustomObjectsApi, V1Namespace } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/common.js';
import type { ExternalSecret } from '../api/external-secret.js';
import type { VaultDynamicSecret } from '../api/generator.js';
import type { SecretStore } from '../api/secret-store.js';
import type { EventRecorder } from '../controller/events.js';
import { namespaceAllowed, type ClientPool } from '../controller/stores.js';
import { createCompanion, createGeneratedSource } from './companion.js';
import { GeneratorError, createLeaseLifecycle } from './lifecycle.js';

export interface GeneratorWiringDeps {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  getStore(
    kind: 'SecretStore' | 'ClusterSecretStore',
    namespace: string,
    name: string,
  ): Promise<SecretStore | undefined>;
  getNamespace(name: string): Promise<V1Namespace | undefined>;
  clients: ClientPool;
  events: EventRecorder;
  readExternalSecret(namespace: string, name: string): Promise<ExternalSecret | undefined>;
  writeCredentials(es: ExternalSecret, credentials: Record<string, unknown>): Promise<void>;
  rolloutsEnabled: boolean;
  count?: (operation: 'issue' | 'renew' | 'revoke', result: 'ok' | 'error') => void;
}

export function wireGenerators(deps: GeneratorWiringDeps) {
  const companion = createCompanion(deps.core);

  async function resolveGenerator(namespace: string, name: string) {
    let generator: VaultDynamicSecret;
    try {
      generator = (await deps.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'vaultdynamicsecrets',
        namespace,
        name,
      })) as VaultDynamicSecret;
    } catch (err) {
      if ((err as { code?: number }).code === 404) throw new GeneratorError(`VaultDynamicSecret ${name} not found`);
      throw err;
    }
    const ref = generator.spec?.provider;
    if (!ref?.name) throw new GeneratorError(`VaultDynamicSecret ${name} names no provider store`);
    const kind = ref.kind ?? 'SecretStore';
    const found = await deps.getStore(kind, namespace, ref.name);
    if (!found) throw new GeneratorError(`VaultDynamicSecret ${name}: ${kind} ${ref.name} not found`);
    const store: SecretStore = { ...found, kind };
    if (!namespaceAllowed(store, await deps.getNamespace(namespace), namespace))
      throw new GeneratorError(
        `VaultDynamicSecret ${name}: ClusterSecretStore ${ref.name} does not allow namespace ${namespace}`,
      );
    const client = (await deps.clients.get(store, namespace)).dynamic?.();
    if (!client)
      throw new GeneratorError(`VaultDynamicSecret ${name}: ${kind} ${ref.name} is not a Vault-compatible store`);
    return { generator, client };
  }

  const lifecycle = createLeaseLifecycle({
    resolveGenerator,
    companion,
    readExternalSecret: deps.readExternalSecret,
    saveCredentials: deps.writeCredentials,
    event: (es, type, reason, message) =>
      type === 'Normal'
        ? deps.events.normal({ ...es, kind: 'ExternalSecret' }, reason, message)
        : deps.events.warning({ ...es, kind: 'ExternalSecret' }, reason, message),
    rolloutsEnabled: deps.rolloutsEnabled,
    ...(deps.count ? { count: deps.count } : {}),
  });

  return { credentials: lifecycle, generatedAt: createGeneratedSource(companion) };
}
