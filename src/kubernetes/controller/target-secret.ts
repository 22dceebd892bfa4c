/**
 * Writing the target Secret of an ExternalSecret (ESO's externalsecret_controller_secret.go): which metadata marks it
 * as ours, create/update/replace under each creationPolicy, and taking it away again under deletionPolicy. The
 * reconciler (`external-secret.ts`) decides when; this file only knows how, with the fewest API calls.
 */
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { API_VERSION } from '../api/common.js';
import type { ExternalSecret, ExternalSecretSpec } from '../api/external-secret.js';
import type { Desired } from './secret-data.js';

export const MANAGED_LABEL = 'strongroom.io/managed';
export const OWNER_ANNOTATION = 'strongroom.io/external-secret';
export const A_STORE = 'strongroom.io/source-store';
export const A_KEYS = 'strongroom.io/source-keys';
export const A_VERSION = 'strongroom.io/source-version';
export const A_HASH = 'strongroom.io/data-hash';
/** Keys this ExternalSecret wrote into a Secret it merges into (so deletionPolicy Merge can take them out again). */
export const A_MERGED_KEYS = 'strongroom.io/merged-keys';

export interface TargetSecretDeps {
  core: CoreV1Api;
  getCachedSecret: (namespace: string, name: string) => V1Secret | undefined;
  countWrite: (operation: string) => void;
  log: (message: string) => void;
}

/** The labels and annotations that mark a Secret as written by `es`, from this data (`hash`) and remote version. */
export function targetMetadata(
  es: ExternalSecret,
  spec: ExternalSecretSpec,
  desired: Desired,
  remoteVersion: string | undefined,
  hash: string,
) {
  const ref = spec.secretStoreRef;
  const annotations = {
    ...desired.annotations,
    [OWNER_ANNOTATION]: es.metadata.name,
    [A_STORE]: `${ref.kind}/${ref.name}`,
    [A_KEYS]: sourceKeys(spec).slice(0, 1024),
    ...(remoteVersion ? { [A_VERSION]: remoteVersion } : {}),
    [A_HASH]: hash,
  };
  const labels = { ...desired.labels, [MANAGED_LABEL]: 'true' };
  return { labels, annotations };
}

export function createTargetSecrets(deps: TargetSecretDeps) {
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

  async function writeTarget(
    es: ExternalSecret,
    spec: ExternalSecretSpec,
    existing: V1Secret | undefined,
    name: string,
    desired: Desired,
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
    if (policy === 'Owner' && !controller && meta.annotations?.[OWNER_ANNOTATION] !== es.metadata.name)
      return 'not-ours';
    if (
      policy === 'Orphan' &&
      meta.annotations?.[OWNER_ANNOTATION] !== undefined &&
      meta.annotations[OWNER_ANNOTATION] !== es.metadata.name
    )
      return 'not-ours';

    let data: Record<string, string>;
    let nextAnnotations = { ...(meta.annotations ?? {}), ...annotations };
    if (policy === 'Merge') {
      data = { ...(existing.data ?? {}), ...desired.data };
      nextAnnotations = { ...nextAnnotations, [A_MERGED_KEYS]: Object.keys(desired.data).sort().join(',') };
    } else {
      data = desired.data;
    }
    const nextLabels = { ...(meta.labels ?? {}), ...labels };
    const ownerReferences =
      policy === 'Owner' && !controller ? [...(meta.ownerReferences ?? []), owner] : meta.ownerReferences;
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
      const body: V1Secret = {
        metadata: {
          name,
          namespace,
          labels: nextLabels,
          annotations: nextAnnotations,
          ...(ownerReferences ? { ownerReferences } : {}),
        },
        type,
        data,
      };
      return { secret: await deps.core.createNamespacedSecret({ namespace, body }), changed: true };
    }
    const body: V1Secret = {
      ...existing,
      metadata: {
        ...meta,
        labels: nextLabels,
        annotations: nextAnnotations,
        ...(ownerReferences ? { ownerReferences } : {}),
      },
      data,
    };
    deps.countWrite('update');
    const secret = await deps.core.replaceNamespacedSecret({ name, namespace, body });
    return { secret, changed: !sameMap(existing.data ?? {}, data) || !sameMap(meta.labels ?? {}, nextLabels) };
  }

  /**
   * A definitive "not found" from the store: Delete removes a Secret we own, Merge takes our keys and marks back out
   * of a Secret we merged into. Returns what was done, for the event; Retain (or a Secret not ours) does nothing.
   */
  async function release(
    es: ExternalSecret,
    spec: ExternalSecretSpec,
    existing: V1Secret | undefined,
    name: string,
  ): Promise<{ reason: string; message: string } | undefined> {
    const namespace = es.metadata.namespace!;
    const policy = spec.target.deletionPolicy;
    const ours = existing?.metadata?.annotations?.[OWNER_ANNOTATION] === es.metadata.name;
    if (policy === 'Delete' && existing && ours) {
      deps.countWrite('delete');
      await deps.core.deleteNamespacedSecret({ name, namespace });
      return {
        reason: 'Deleted',
        message: `Secret ${name} deleted: the remote secret no longer exists (deletionPolicy Delete)`,
      };
    }
    if (policy === 'Merge' && existing && ours) {
      const managed = (existing.metadata?.annotations?.[A_MERGED_KEYS] ?? Object.keys(existing.data ?? {}).join(','))
        .split(',')
        .filter(Boolean);
      const data = Object.fromEntries(Object.entries(existing.data ?? {}).filter(([k]) => !managed.includes(k)));
      const annotations = Object.fromEntries(
        Object.entries(existing.metadata?.annotations ?? {}).filter(([k]) => !k.startsWith('strongroom.io/')),
      );
      const labels = Object.fromEntries(
        Object.entries(existing.metadata?.labels ?? {}).filter(([k]) => k !== MANAGED_LABEL),
      );
      deps.countWrite('update');
      await deps.core.replaceNamespacedSecret({
        name,
        namespace,
        body: { ...existing, metadata: { ...existing.metadata, annotations, labels }, data },
      });
      return {
        reason: 'Updated',
        message: `removed ${managed.length} key(s) from Secret ${name}: the remote secret no longer exists (deletionPolicy Merge)`,
      };
    }
    return undefined;
  }

  return { read: readSecret, write: writeTarget, release };
}

function sourceKeys(spec: ExternalSecretSpec): string {
  const keys = [
    ...(spec.data ?? []).map((d) => (d.sourceRef ? `generator:${d.sourceRef.generatorRef.name}` : d.remoteRef.key)),
    ...(spec.dataFrom ?? []).map((d) =>
      d.sourceRef
        ? `generator:${d.sourceRef.generatorRef.name}`
        : (d.extract?.key ?? `find:${d.find?.path ?? ''}${d.find?.name ? `~${d.find.name.regexp}` : ''}`),
    ),
  ];
  return [...new Set(keys)].join(',');
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
