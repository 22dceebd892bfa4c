/**
 * The VersionSource the operator gives the rollout engine: the ExternalSecret's own pipeline (providers, dataFrom
 * extract, data, templates) with every remote read pinned to the recorded version. So a rollback produces exactly
 * the Secret that version produced, read again from the store (and audited there), never from a copy in etcd.
 */
import { parseExternalSecretSpec, type ExternalSecretSpec } from '../api/external-secret.js';
import type { SecretStore } from '../api/secret-store.js';
import { buildDesired, fetchData, type GeneratedData } from '../controller/secret-data.js';
import type { SecretsClient } from '../types.js';
import type { Json } from './cluster.js';
import type { VersionSource } from './types.js';

export interface ProviderVersionSourceDeps {
  getStore(
    kind: 'SecretStore' | 'ClusterSecretStore',
    namespace: string,
    name: string,
  ): Promise<SecretStore | undefined>;
  clients: { get(store: SecretStore, namespace: string): Promise<SecretsClient> };
  /**
   * The generated credentials of the generation a recorded version names (kept by the lease lifecycle), for
   * ExternalSecrets with generators: they cannot be read from the store again.
   */
  generatedAt?(es: Json, version: string): Promise<GeneratedData>;
}

/**
 * Parses a recorded remote version: one version for every key ("3"), or `key@version` pairs ("db@3,api@7"), as
 * the operator summarises them.
 */
export function parseRecordedVersion(version: string): { all?: string; byKey: Record<string, string> } {
  if (!version.includes('@')) return { all: version, byKey: {} };
  const byKey: Record<string, string> = {};
  for (const pair of version.split(',')) {
    const at = pair.lastIndexOf('@');
    if (at <= 0 || at === pair.length - 1) throw new Error(`recorded version "${version}" is not key@version pairs`);
    byKey[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { byKey };
}

/** The spec with every remote reference pinned to its recorded version. */
export function pinVersions(spec: ExternalSecretSpec, version: string): ExternalSecretSpec {
  const recorded = parseRecordedVersion(version);
  const versionOf = (key: string) => {
    const v = recorded.all ?? recorded.byKey[key];
    if (v === undefined) throw new Error(`no recorded version for remote key "${key}"`);
    return v;
  };
  if (spec.dataFrom?.some((item) => item.find))
    throw new Error('dataFrom.find reads many secrets without versions; an earlier version cannot be reproduced');
  // Generated entries carry no store version: their generation's data is supplied separately.
  return {
    ...spec,
    data: spec.data?.map((item) =>
      item.sourceRef ? item : { ...item, remoteRef: { ...item.remoteRef, version: versionOf(item.remoteRef.key) } },
    ),
    dataFrom: spec.dataFrom?.map((item) =>
      item.extract ? { ...item, extract: { ...item.extract, version: versionOf(item.extract.key) } } : item,
    ),
  };
}

export function createProviderVersionSource(deps: ProviderVersionSourceDeps): VersionSource {
  return {
    async dataAt(es: Json, version: string, context) {
      const spec = pinVersions(parseExternalSecretSpec(es.spec), version);
      const ref = spec.secretStoreRef;
      const store = await deps.getStore(ref.kind, es.metadata.namespace, ref.name);
      if (!store) throw new Error(`${ref.kind} ${ref.name} not found`);
      const pooled = await deps.clients.get(store, es.metadata.namespace);
      // The store's audit entry for this read says why it happened (rollback of which ExternalSecret, from what).
      const client = pooled.withReadContext?.(context) ?? pooled;
      // No read cache here: a rollback must come from the store, now.
      const generated = (await deps.generatedAt?.(es, version)) ?? {};
      const fetched = await fetchData(spec, client, (_op, _ref, load) => load(), generated);
      return buildDesired(spec, fetched.data).data;
    },
  };
}
