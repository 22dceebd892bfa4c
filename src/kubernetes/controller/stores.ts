/**
 * Resolves an ExternalSecret's store into a connected client, caching clients per store generation and consumer
 * namespace, and checks a ClusterSecretStore's `conditions` admit the namespace.
 */
import type { KubeConfig, V1Namespace } from '@kubernetes/client-node';
import { z } from 'zod';
import { StrongroomError } from '../../shared/errors.js';
import { parseSecretStoreSpec, type SecretStore } from '../api/secret-store.js';
import { PROVIDERS, providerName } from '../providers/index.js';
import type { SecretKeyReader, SecretsClient } from '../types.js';
import { matchesSelector } from './selectors.js';

export class StoreNotUsableError extends StrongroomError {
  constructor(message: string) {
    super('unavailable', message);
    this.name = 'StoreNotUsableError';
  }
}

export function storeKey(store: SecretStore): string {
  return `${store.kind}/${store.metadata.namespace ?? ''}/${store.metadata.name}@${store.metadata.uid ?? ''}:${store.metadata.generation ?? 0}`;
}

export function namespaceAllowed(
  store: SecretStore,
  namespace: V1Namespace | undefined,
  namespaceName: string,
): boolean {
  if (store.kind !== 'ClusterSecretStore' || !store.spec.conditions?.length) return true;
  return store.spec.conditions.some(
    (c) =>
      (c.namespaces?.includes(namespaceName) ?? false) ||
      (c.namespaceSelector !== undefined &&
        namespace !== undefined &&
        matchesSelector(c.namespaceSelector, namespace.metadata?.labels ?? {})),
  );
}

export interface ClientPoolDeps {
  kubeConfig: KubeConfig;
  readSecretKey: (namespace: string) => SecretKeyReader;
  onCall: (provider: string, operation: string) => void;
  /** See ProviderContext.storeCa. */
  storeCa?: Buffer;
  /** Clients are rebuilt after this long so rotated credentials in Secrets are picked up. */
  maxAgeMs?: number;
}

export class ClientPool {
  private readonly clients = new Map<string, { at: number; client: Promise<SecretsClient> }>();

  constructor(private readonly deps: ClientPoolDeps) {}

  /** Validates the store spec and returns a client for use from `namespace`. */
  get(store: SecretStore, namespace: string): Promise<SecretsClient> {
    let spec;
    try {
      spec = parseSecretStoreSpec(store.spec);
    } catch (err) {
      const message =
        err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : String(err);
      return Promise.reject(
        new StoreNotUsableError(`${store.kind} ${store.metadata.name} has an invalid spec: ${message}`),
      );
    }
    const parsed: SecretStore = { ...store, spec };
    const key = `${storeKey(store)}|${namespace}`;
    const hit = this.clients.get(key);
    if (hit && Date.now() - hit.at < (this.deps.maxAgeMs ?? 300_000)) return hit.client;
    if (hit) void hit.client.then((c) => c.close()).catch(() => {});
    const provider = PROVIDERS[providerName(spec.provider)];
    // Secret refs in a namespaced store always resolve in the store's namespace; a cluster store may name one.
    const readerNamespace = store.kind === 'SecretStore' ? store.metadata.namespace! : namespace;
    const baseReader = this.deps.readSecretKey(readerNamespace);
    const reader: SecretKeyReader = (ref) =>
      baseReader(store.kind === 'SecretStore' ? { name: ref.name, key: ref.key } : ref);
    const client = provider({
      store: parsed,
      namespace,
      readSecretKey: reader,
      kubeConfig: this.deps.kubeConfig,
      onCall: this.deps.onCall,
      ...(this.deps.storeCa ? { storeCa: this.deps.storeCa } : {}),
    });
    this.clients.set(key, { at: Date.now(), client });
    client.catch(() => this.clients.delete(key));
    return client;
  }

  /** Forget a client (after the store failed: credentials may have changed). */
  drop(store: SecretStore, namespace: string): void {
    const key = `${storeKey(store)}|${namespace}`;
    const hit = this.clients.get(key);
    this.clients.delete(key);
    if (hit) void hit.client.then((c) => c.close()).catch(() => {});
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(all.map(async (e) => (await e.client).close()));
  }
}
