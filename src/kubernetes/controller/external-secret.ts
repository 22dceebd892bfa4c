/**
 * Reconciles one ExternalSecret: read the spec, fetch from the store, build the Secret, write it if it differs,
 * record status and events, and come back after `refreshInterval`. Idempotent; safe to run any number of times.
 *
 * The rule that matters most: a store that cannot be reached never deletes or empties a target Secret. Only a
 * definitive "not found" from a reachable store applies `deletionPolicy`.
 */
import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import { z } from 'zod';
import { isStrongroomError } from '../../shared/errors.js';
import { parseDuration } from '../api/common.js';
import {
  parseExternalSecretSpec,
  type ExternalSecret,
  type ExternalSecretSpec,
  type ExternalSecretStatus,
} from '../api/external-secret.js';
import { readRollout, shouldSyncVersion } from '../rollout/record.js';
import type { SecretStore } from '../api/secret-store.js';
import { TemplateError } from '../template/template.js';
import { secretDataHash } from '../secret-hash.js';
import { RemoteNotFoundError, StoreUnavailableError, type OnSecretChanged } from '../types.js';
import type { ReadCache } from './cache.js';
import { setCondition } from './conditions.js';
import type { EventRecorder } from './events.js';
import { buildDesired, fetchData, summarizeVersions } from './secret-data.js';
import { GeneratorError, type PreparedCredentials } from '../generators/lifecycle.js';
import { generatorNames } from '../api/external-secret.js';
import { StoreNotUsableError, namespaceAllowed, storeKey, type ClientPool } from './stores.js';
import { A_HASH, A_VERSION, createTargetSecrets, targetMetadata, type TargetSecretDeps } from './target-secret.js';

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

export interface ExternalSecretDeps extends TargetSecretDeps {
  getStore: (
    kind: 'SecretStore' | 'ClusterSecretStore',
    namespace: string,
    name: string,
  ) => Promise<SecretStore | undefined>;
  getNamespace: (name: string) => Promise<V1Namespace | undefined>;
  /** Merge-patches status; returns the ExternalSecret as stored when the API server answered with it. */
  writeStatus: (es: ExternalSecret, status: ExternalSecretStatusPatch) => Promise<ExternalSecret | void>;
  /** A fresh read (not the informer's copy), asked only before overwriting a Secret that has a rollout record. */
  readExternalSecret?: (namespace: string, name: string) => Promise<ExternalSecret | undefined>;
  clients: ClientPool;
  cache: ReadCache;
  events: EventRecorder;
  onSecretChanged: OnSecretChanged;
  /** The store failed for us: have its own status re-checked now rather than at its next validation. */
  storeTrouble: (kind: 'SecretStore' | 'ClusterSecretStore', namespace: string, name: string) => void;
  /** The lease lifecycle of generated credentials (generators/lifecycle.ts); absent: generatorRefs are refused. */
  credentials?: { prepare(es: ExternalSecret, spec: ExternalSecretSpec): Promise<PreparedCredentials> };
}

type Outcome = { requeueAfterMs?: number };

/** The next visit: the refresh interval, or sooner when a lease needs looking after. */
function requeue(refreshMs: number, prepared: PreparedCredentials | undefined): Outcome {
  const candidates = [refreshMs > 0 ? refreshMs : undefined, prepared?.requeueAfterMs].filter(
    (x): x is number => x !== undefined,
  );
  return candidates.length ? { requeueAfterMs: Math.min(...candidates) } : {};
}

/** Thrown so the queue backs off; the condition and event were already recorded. */
export class RetryLater extends Error {}

export function createExternalSecretReconciler(deps: ExternalSecretDeps) {
  const target = createTargetSecrets(deps);

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

  return async function reconcile(es: ExternalSecret): Promise<Outcome> {
    const namespace = es.metadata.namespace!;
    if (es.metadata.deletionTimestamp) return {};
    let spec: ExternalSecretSpec;
    try {
      spec = parseExternalSecretSpec(es.spec);
    } catch (err) {
      const message =
        err instanceof z.ZodError
          ? err.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ')
          : String(err);
      return fail(es, 'InvalidSpec', `invalid spec: ${message}`, false);
    }
    const refreshMs = parseDuration(spec.refreshInterval);
    const targetName = spec.target.name ?? es.metadata.name;
    const generated = generatorNames(spec).length > 0;
    if (generated && !deps.credentials)
      return fail(es, 'InvalidSpec', 'generatorRef is not supported by this operator', false);

    // refreshInterval 0: sync once per generation; only a lost target brings us back.
    const synced =
      es.status?.observedGeneration === es.metadata.generation &&
      es.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    // (Generated credentials have leases to look after: never skipped.)
    if (refreshMs === 0 && synced && spec.target.creationPolicy !== 'None' && !generated) {
      const existing = await target.read(namespace, targetName);
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
    let prepared: PreparedCredentials | undefined;
    try {
      if (generated) prepared = await deps.credentials!.prepare(es, spec);
      const client = await deps.clients.get(store, namespace);
      const prefix = `${storeKey(store)}|${store.kind === 'ClusterSecretStore' ? namespace : ''}|`;
      const maxAge = refreshMs > 0 ? refreshMs / 4 : undefined;
      fetched = await fetchData(
        spec,
        client,
        (op, r, load) => deps.cache.get(`${prefix}${op}|${JSON.stringify(r)}`, load, maxAge),
        prepared?.generated,
      );
    } catch (err) {
      if (err instanceof GeneratorError) return fail(es, 'GeneratorNotReady', err.message, true);
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
    const existing =
      policy === 'None'
        ? undefined
        : await target.read(namespace, targetName, !notFound && (policy === 'Owner' || policy === 'Orphan'));
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
    const { labels, annotations } = targetMetadata(es, spec, desired, remoteVersion, hash);

    // The version this data is, for the rollout engine (a data hash where the store has no versions).
    const version = remoteVersion ?? hash;
    const previousHash = existing?.metadata?.annotations?.[A_HASH];
    if (existing && previousHash !== hash && spec.target.creationPolicy !== 'None') {
      const held = await heldByRollout(es, version);
      if (held) return { ...(await hold(es, spec, targetName, held)), ...requeue(refreshMs, prepared) };
    }

    let written: V1Secret | undefined = existing;
    let changed = false;
    if (spec.target.creationPolicy !== 'None') {
      const result = await target.write(es, spec, existing, targetName, desired, labels, annotations);
      if (result === 'missing-merge-target') {
        return fail(es, 'SecretSyncedError', `creationPolicy Merge: Secret ${targetName} does not exist yet`, true);
      }
      if (result === 'not-ours') {
        return fail(
          es,
          'SecretSyncedError',
          `Secret ${targetName} exists and is not owned by this ExternalSecret; use creationPolicy Merge or Orphan`,
          true,
        );
      }
      written = result.secret;
      changed = result.changed;
    }

    // Status first, then the hook: the rollout engine reads status.sync as the record of what the Secret holds, and
    // recovers a rollout from it should the hook call be lost.
    const current = await deps.writeStatus(es, {
      conditions: setCondition(es.status?.conditions, {
        type: 'Ready',
        status: 'True',
        reason: 'SecretSynced',
        message: 'Secret was synced',
      }),
      observedGeneration: es.metadata.generation ?? 0,
      refreshTime: new Date().toISOString(),
      binding: { name: targetName },
      sync: {
        remoteVersion: remoteVersion ?? null,
        targetResourceVersion: written?.metadata?.resourceVersion ?? null,
        dataHash: hash,
      },
    });
    if (changed) {
      await deps.events.normal(
        es,
        existing ? 'Updated' : 'Created',
        `Secret ${targetName} ${existing ? 'updated' : 'created'} from ${ref.kind} ${ref.name}${remoteVersion ? ` (version ${remoteVersion})` : ''}`,
      );
      if (previousHash !== hash && written) {
        const previousVersion = existing
          ? (existing.metadata?.annotations?.[A_VERSION] ?? es.status?.sync?.remoteVersion ?? previousHash)
          : undefined;
        await deps.onSecretChanged({
          externalSecret: es,
          secret: written,
          previousVersion,
          newVersion: version,
          ...(current ? { current } : {}),
        });
      }
    }
    return requeue(refreshMs, prepared);
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
    if (r?.blockedVersion === version)
      return `version ${version} was rolled back (${r.phase}); it is held until the store has a newer version or the rollout is retried`;
    return `the rollout is ${r?.phase ?? 'in progress'} (${r?.trigger ?? 'unknown'}); the Secret is left to it`;
  }

  async function hold(es: ExternalSecret, spec: ExternalSecretSpec, targetName: string, why: string): Promise<Outcome> {
    await deps.writeStatus(es, {
      conditions: setCondition(es.status?.conditions, {
        type: 'Ready',
        status: 'True',
        reason: 'VersionHeld',
        message: `Secret ${targetName} not updated: ${why}`,
      }),
      observedGeneration: es.metadata.generation ?? 0,
      refreshTime: new Date().toISOString(),
    });
    const refreshMs = parseDuration(spec.refreshInterval);
    return refreshMs > 0 ? { requeueAfterMs: refreshMs } : {};
  }

  async function applyDeletionPolicy(
    es: ExternalSecret,
    spec: ExternalSecretSpec,
    existing: V1Secret | undefined,
    name: string,
    err: RemoteNotFoundError,
  ): Promise<Outcome> {
    const policy = spec.target.deletionPolicy;
    const done = await target.release(es, spec, existing, name);
    if (done) await deps.events.normal(es, done.reason, done.message);
    const refreshMs = parseDuration(spec.refreshInterval);
    const message = `${err.message}; deletionPolicy ${policy}${policy === 'Retain' ? ' keeps the Secret as it is' : ''}`;
    await deps.writeStatus(es, {
      conditions: setCondition(es.status?.conditions, {
        type: 'Ready',
        status: 'False',
        reason: 'SecretSyncedError',
        message,
      }),
      observedGeneration: es.metadata.generation ?? 0,
      refreshTime: new Date().toISOString(),
    });
    await deps.events.warning(es, 'SecretSyncedError', message);
    return refreshMs > 0 ? { requeueAfterMs: refreshMs } : {};
  }
}
