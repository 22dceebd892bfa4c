/**
 * Reconciles one ExternalSecret: read the spec, fetch from the store, build the Secret, write it if it differs,
 * record status and events, and come back after `refreshInterval`. Idempotent; safe to run any number of times.
 *
 * The rule that matters most: a store that cannot be reached never deletes or empties a target Secret. Only a
 * definitive "not found" from a reachable store applies `deletionPolicy`.
 */
import type { CoreV1Api, V1Namespace, V1Secret } from '@kubernetes/client-node';
import { z } from 'zod';
import { isStrongroomError } from '../../shared/errors.js';
import { API_VERSION, parseDuration } from '../api/common.js';
import { parseExternalSecretSpec, type ExternalSecret, type ExternalSecretSpec, type ExternalSecretStatus } from '../api/external-secret.js';
import { readRollout, shouldSyncVersion } from '../rollout/engine.js';
import type { SecretStore } from '../api/secret-store.js';
import { TemplateError } from '../template/template.js';
import { secretDataHash } from '../secret-hash.js';
import { RemoteNotFoundError, StoreUnavailableError, type OnSecretChanged } from '../types.js';
import type { ReadCache } from './cache.js';
import { setCondition } from './conditions.js';
import type { EventRecorder } from './events.js';
import { buildDesired, fetchData, summarizeVersions } from './secret-data.js';
import { StoreNotUsableError, namespaceAllowed, storeKey, type ClientPool } from './stores.js';

export const MANAGED_LABEL = 'strongroom.io/managed';
export const OWNER_ANNOTATION = 'strongroom.io/external-secret';
export const A_STORE = 'strongroom.io/source-store';
export const A_KEYS = 'strongroom.io/source-keys';
export const A_VERSION = 'strongroom.io/source-version';
export const A_HASH = 'strongroom.io/data-hash';
/** Keys this ExternalSecret wrote into a Secret it merges into (so deletionPolicy Merge can take them out again). */
export const A_MERGED_KEYS = 'strongroom.io/merged-keys';

/**
 * The part of `status` the reconciler owns, sent as a JSON merge patch. `status.rollout` is never in it: rollout
 * progress is written only by the rollout engine, and a patch from our (possibly older) cached copy must not undo it.
 * `null` removes a field.
 */
export interface ExternalSecretStatusPatch {
  conditions: NonNullable<ExternalSecretStatus['conditions']>;
  observedGeneration: number;
  refreshTime?: string;
  binding?: { name: string };
  sync?: { remoteVersion: string | null; targetResourceVersion: string | null; dataHash: string };
}

export interface ExternalSecretDeps {
  core: CoreV1Api;
  getStore: (kind: 'SecretStore' | 'ClusterSecretStore', namespace: string, name: string) => Promise<SecretStore | undefined>;
  getNamespace: (name: string) => Promise<V1Namespace | undefined>;
  getCachedSecret: (namespace: string, name: string) => V1Secret | undefined;
  writeStatus: (es: ExternalSecret, status: ExternalSecretStatusPatch) => Promise<void>;
  /** A fresh read (not the informer's copy), asked only before overwriting a Secret that has a rollout record. */
  readExternalSecret?: (namespace: string, name: string) => Promise<ExternalSecret | undefined>;
  clients: ClientPool;
  cache: ReadCache;
  events: EventRecorder;
  onSecretChanged: OnSecretChanged;
  countWrite: (operation: string) => void;
  /** The store failed for us: have its own status re-checked now rather than at its next validation. */
  storeTrouble: (kind: 'SecretStore' | 'ClusterSecretStore', namespace: string, name: string) => void;
  log: (message: string) => void;
}

type Outcome = { requeueAfterMs?: number };

/** Thrown so the queue backs off; the condition and event were already recorded. */
export class RetryLater extends Error {}

export function createExternalSecretReconciler(deps: ExternalSecretDeps) {
  async function fail(es: ExternalSecret, reason: string, message: string, retry: boolean): Promise<Outcome> {
    const status: ExternalSecretStatusPatch = {
      conditions: setCondition(es.status?.conditions, { type: 'Ready', status: 'False', reason, message }),
      observedGeneration: es.metadata.generation ?? 0,
    };
    await deps.writeStatus(es, status);
    await deps.events.warning(es, reason, message);
    if (retry) throw new RetryLater(message);
    return {};
  }

  /**
   * The target Secret. Managed Secrets come from the informer cache; a Secret absent from it is either new or not
   * ours yet. With `assumeAbsent` (Owner/Orphan) we skip the GET and let create's 409 tell us otherwise: one API
   * call less per ExternalSecret on the first sync of thousands.
   */
  async function readSecret(namespace: string, name: string, assumeAbsent = false): Promise<V1Secret | undefined> {
    const cached = deps.getCachedSecret(namespace, name);
    if (cached) return cached;
    if (assumeAbsent) return undefined;
    try {
      return await deps.core.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  return async function reconcile(es: ExternalSecret): Promise<Outcome> {
    const namespace = es.metadata.namespace!;
    if (es.metadata.deletionTimestamp) return {};
    let spec: ExternalSecretSpec;
    try {
      spec = parseExternalSecretSpec(es.spec);
    } catch (err) {
      const message = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ') : String(err);
      return fail(es, 'InvalidSpec', `invalid spec: ${message}`, false);
    }
    const refreshMs = parseDuration(spec.refreshInterval);
    const targetName = spec.target.name ?? es.metadata.name;

    // refreshInterval 0: sync once per generation; only a lost target brings us back.
    const synced = es.status?.observedGeneration === es.metadata.generation && es.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (refreshMs === 0 && synced && spec.target.creationPolicy !== 'None') {
      const existing = await readSecret(namespace, targetName);
      if (existing && existing.metadata?.annotations?.[A_HASH] === es.status?.sync?.dataHash) return {};
    }

    const ref = spec.secretStoreRef;
    const store = await deps.getStore(ref.kind, namespace, ref.name);
    if (!store) return fail(es, 'StoreNotReady', `${ref.kind} ${ref.name} not found`, true);
    if (!namespaceAllowed(store, await deps.getNamespace(namespace), namespace)) {
      return fail(es, 'StoreNotReady', `ClusterSecretStore ${ref.name} does not allow namespace ${namespace}`, true);
    }

    let fetched;
    let notFound: RemoteNotFoundError | undefined;
    try {
      const client = await deps.clients.get(store, namespace);
      const prefix = `${storeKey(store)}|${store.kind === 'ClusterSecretStore' ? namespace : ''}|`;
      const maxAge = refreshMs > 0 ? refreshMs / 4 : undefined;
      fetched = await fetchData(spec, client, (op, r, load) => deps.cache.get(`${prefix}${op}|${JSON.stringify(r)}`, load, maxAge));
    } catch (err) {
      if (err instanceof RemoteNotFoundError) notFound = err;
      else if (err instanceof StoreUnavailableError || err instanceof StoreNotUsableError) {
        deps.clients.drop(store, namespace);
        deps.storeTrouble(ref.kind, namespace, ref.name);
        return fail(es, 'StoreNotReady', `store ${ref.name} is not ready: ${err.message}`, true);
      } else if (isStrongroomError(err)) {
        return fail(es, 'SecretSyncedError', `could not read from store ${ref.name}: ${err.message}`, true);
      } else {
        throw err;
      }
    }

    const policy = spec.target.creationPolicy;
    const existing = policy === 'None' ? undefined : await readSecret(namespace, targetName, !notFound && (policy === 'Owner' || policy === 'Orphan'));
    if (notFound) return applyDeletionPolicy(es, spec, existing, targetName, notFound);

    let desired;
    try {
      desired = buildDesired(spec, fetched!.data);
    } catch (err) {
      if (err instanceof TemplateError) return fail(es, 'InvalidSpec', err.message, false);
      throw err;
    }
    const hash = secretDataHash(desired.data, es.metadata.uid ?? es.metadata.name);
    const remoteVersion = summarizeVersions(fetched!.versions);
    const annotations = {
      ...desired.annotations,
      [OWNER_ANNOTATION]: es.metadata.name,
      [A_STORE]: `${ref.kind}/${ref.name}`,
      [A_KEYS]: sourceKeys(spec).slice(0, 1024),
      ...(remoteVersion ? { [A_VERSION]: remoteVersion } : {}),
      [A_HASH]: hash,
    };
    const labels = { ...desired.labels, [MANAGED_LABEL]: 'true' };

    // The version this data is, for the rollout engine (a data hash where the store has no versions).
    const version = remoteVersion ?? hash;
    const previousHash = existing?.metadata?.annotations?.[A_HASH];
    if (existing && previousHash !== hash && spec.target.creationPolicy !== 'None') {
      const held = await heldByRollout(es, version);
      if (held) return hold(es, spec, targetName, held);
    }

    let written: V1Secret | undefined = existing;
    let changed = false;
    if (spec.target.creationPolicy !== 'None') {
      const result = await writeTarget(es, spec, existing, targetName, desired, labels, annotations);
      if (result === 'missing-merge-target') {
        return fail(es, 'SecretSyncedError', `creationPolicy Merge: Secret ${targetName} does not exist yet`, true);
      }
      if (result === 'not-ours') {
        return fail(es, 'SecretSyncedError', `Secret ${targetName} exists and is not owned by this ExternalSecret; use creationPolicy Merge or Orphan`, true);
      }
      written = result.secret;
      changed = result.changed;
    }

    // Status first, then the hook: the rollout engine reads status.sync as the record of what the Secret holds, and
    // recovers a rollout from it should the hook call be lost.
    await deps.writeStatus(es, {
      conditions: setCondition(es.status?.conditions, { type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'Secret was synced' }),
      observedGeneration: es.metadata.generation ?? 0,
      refreshTime: new Date().toISOString(),
      binding: { name: targetName },
      sync: { remoteVersion: remoteVersion ?? null, targetResourceVersion: written?.metadata?.resourceVersion ?? null, dataHash: hash },
    });
    if (changed) {
      await deps.events.normal(es, existing ? 'Updated' : 'Created', `Secret ${targetName} ${existing ? 'updated' : 'created'} from ${ref.kind} ${ref.name}${remoteVersion ? ` (version ${remoteVersion})` : ''}`);
      if (previousHash !== hash && written) {
        const previousVersion = existing ? (existing.metadata?.annotations?.[A_VERSION] ?? es.status?.sync?.remoteVersion ?? previousHash) : undefined;
        await deps.onSecretChanged({ externalSecret: es, secret: written, previousVersion, newVersion: version });
      }
    }
    return refreshMs > 0 ? { requeueAfterMs: refreshMs } : {};
  };

  /**
   * Asks the rollout record whether `version` may be written over the Secret: not a version that was rolled back,
   * not while the engine itself restores or re-rolls the Secret. The informer's copy may lag the engine's status
   * writes, so an ExternalSecret with a rollout record is read fresh (only when the data would change).
   */
  async function heldByRollout(es: ExternalSecret, version: string): Promise<string | undefined> {
    if (!es.status?.rollout) return undefined;
    const fresh = (await deps.readExternalSecret?.(es.metadata.namespace!, es.metadata.name)) ?? es;
    if (shouldSyncVersion(fresh, version)) return undefined;
    const r = readRollout(fresh);
    if (r?.blockedVersion === version) return `version ${version} was rolled back (${r.phase}); it is held until the store has a newer version or the rollout is retried`;
    return `the rollout is ${r?.phase ?? 'in progress'} (${r?.trigger ?? 'unknown'}); the Secret is left to it`;
  }

  async function hold(es: ExternalSecret, spec: ExternalSecretSpec, targetName: string, why: string): Promise<Outcome> {
    await deps.writeStatus(es, {
      conditions: setCondition(es.status?.conditions, { type: 'Ready', status: 'True', reason: 'VersionHeld', message: `Secret ${targetName} not updated: ${why}` }),
      observedGeneration: es.metadata.generation ?? 0,
      refreshTime: new Date().toISOString(),
    });
    const refreshMs = parseDuration(spec.refreshInterval);
    return refreshMs > 0 ? { requeueAfterMs: refreshMs } : {};
  }

  async function writeTarget(
    es: ExternalSecret,
    spec: ExternalSecretSpec,
    existing: V1Secret | undefined,
    name: string,
    desired: ReturnType<typeof buildDesired>,
    labels: Record<string, string>,
    annotations: Record<string, string>,
  ): Promise<{ secret: V1Secret; changed: boolean } | 'missing-merge-target' | 'not-ours'> {
    const namespace = es.metadata.namespace!;
    const policy = spec.target.creationPolicy;
    const owner = {
      apiVersion: API_VERSION,
      kind: 'ExternalSecret',
      name: es.metadata.name,
      uid: es.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    if (!existing) {
      if (policy === 'Merge') return 'missing-merge-target';
      const body: V1Secret = {
        metadata: { name, namespace, labels, annotations, ...(policy === 'Owner' ? { ownerReferences: [owner] } : {}) },
        type: desired.type,
        data: desired.data,
        ...(spec.target.immutable ? { immutable: true } : {}),
      };
      deps.countWrite('create');
      try {
        return { secret: await deps.core.createNamespacedSecret({ namespace, body }), changed: true };
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        // It exists after all (not one of ours, or not in the cache yet): decide with the real object.
        const current = await deps.core.readNamespacedSecret({ name, namespace });
        return writeTarget(es, spec, current, name, desired, labels, annotations);
      }
    }
    const meta = existing.metadata ?? {};
    const controller = meta.ownerReferences?.find((o) => o.controller);
    if (policy === 'Owner' && controller && controller.uid !== es.metadata.uid) return 'not-ours';
    if (policy === 'Owner' && !controller && meta.annotations?.[OWNER_ANNOTATION] !== es.metadata.name) return 'not-ours';
    if (policy === 'Orphan' && meta.annotations?.[OWNER_ANNOTATION] !== undefined && meta.annotations[OWNER_ANNOTATION] !== es.metadata.name) return 'not-ours';

    let data: Record<string, string>;
    let nextAnnotations = { ...(meta.annotations ?? {}), ...annotations };
    if (policy === 'Merge') {
      data = { ...(existing.data ?? {}), ...desired.data };
      nextAnnotations = { ...nextAnnotations, [A_MERGED_KEYS]: Object.keys(desired.data).sort().join(',') };
    } else {
      data = desired.data;
    }
    const nextLabels = { ...(meta.labels ?? {}), ...labels };
    const ownerReferences = policy === 'Owner' && !controller ? [...(meta.ownerReferences ?? []), owner] : meta.ownerReferences;
    const type = policy === 'Merge' ? existing.type : desired.type;
    const same =
      sameMap(existing.data ?? {}, data) &&
      sameMap(meta.labels ?? {}, nextLabels) &&
      sameMap(meta.annotations ?? {}, nextAnnotations) &&
      (existing.type ?? 'Opaque') === (type ?? 'Opaque') &&
      (meta.ownerReferences?.length ?? 0) === (ownerReferences?.length ?? 0);
    if (same) return { secret: existing, changed: false };
    if (existing.immutable) {
      deps.log(`Secret ${namespace}/${name} is immutable; not updating it`);
      return { secret: existing, changed: false };
    }
    if (type !== existing.type && existing.type !== undefined) {
      // A Secret's type cannot change in place: replace the object.
      deps.countWrite('delete');
      await deps.core.deleteNamespacedSecret({ name, namespace });
      deps.countWrite('create');
      const body: V1Secret = { metadata: { name, namespace, labels: nextLabels, annotations: nextAnnotations, ...(ownerReferences ? { ownerReferences } : {}) }, type, data };
      return { secret: await deps.core.createNamespacedSecret({ namespace, body }), changed: true };
    }
    const body: V1Secret = {
      ...existing,
      metadata: { ...meta, labels: nextLabels, annotations: nextAnnotations, ...(ownerReferences ? { ownerReferences } : {}) },
      data,
    };
    deps.countWrite('update');
    const secret = await deps.core.replaceNamespacedSecret({ name, namespace, body });
    return { secret, changed: !sameMap(existing.data ?? {}, data) || !sameMap(meta.labels ?? {}, nextLabels) };
  }

  async function applyDeletionPolicy(es: ExternalSecret, spec: ExternalSecretSpec, existing: V1Secret | undefined, name: string, err: RemoteNotFoundError): Promise<Outcome> {
    const namespace = es.metadata.namespace!;
    const policy = spec.target.deletionPolicy;
    const ours = existing?.metadata?.annotations?.[OWNER_ANNOTATION] === es.metadata.name;
    if (policy === 'Delete' && existing && ours) {
      deps.countWrite('delete');
      await deps.core.deleteNamespacedSecret({ name, namespace });
      await deps.events.normal(es, 'Deleted', `Secret ${name} deleted: the remote secret no longer exists (deletionPolicy Delete)`);
    } else if (policy === 'Merge' && existing && ours) {
      const managed = (existing.metadata?.annotations?.[A_MERGED_KEYS] ?? Object.keys(existing.data ?? {}).join(',')).split(',').filter(Boolean);
      const data = Object.fromEntries(Object.entries(existing.data ?? {}).filter(([k]) => !managed.includes(k)));
      const annotations = Object.fromEntries(Object.entries(existing.metadata?.annotations ?? {}).filter(([k]) => !k.startsWith('strongroom.io/')));
      const labels = Object.fromEntries(Object.entries(existing.metadata?.labels ?? {}).filter(([k]) => k !== MANAGED_LABEL));
      deps.countWrite('update');
      await deps.core.replaceNamespacedSecret({ name, namespace, body: { ...existing, metadata: { ...existing.metadata, annotations, labels }, data } });
      await deps.events.normal(es, 'Updated', `removed ${managed.length} key(s) from Secret ${name}: the remote secret no longer exists (deletionPolicy Merge)`);
    }
    const refreshMs = parseDuration(spec.refreshInterval);
    const message = `${err.message}; deletionPolicy ${policy}${policy === 'Retain' ? ' keeps the Secret as it is' : ''}`;
    await deps.writeStatus(es, {
      conditions: setCondition(es.status?.conditions, { type: 'Ready', status: 'False', reason: 'SecretSyncedError', message }),
      observedGeneration: es.metadata.generation ?? 0,
      refreshTime: new Date().toISOString(),
    });
    await deps.events.warning(es, 'SecretSyncedError', message);
    return refreshMs > 0 ? { requeueAfterMs: refreshMs } : {};
  }
}

function sourceKeys(spec: ExternalSecretSpec): string {
  const keys = [
    ...(spec.data ?? []).map((d) => d.remoteRef.key),
    ...(spec.dataFrom ?? []).map((d) => d.extract?.key ?? `find:${d.find?.path ?? ''}${d.find?.name ? `~${d.find.name.regexp}` : ''}`),
  ];
  return [...new Set(keys)].join(',');
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
