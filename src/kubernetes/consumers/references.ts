/**
 * Reads a pod spec for every reference to a Secret: env valueFrom.secretKeyRef, envFrom secretRef, secret and
 * projected volumes (and which containers mount them, with or without subPath), imagePullSecrets; init and
 * ephemeral containers count as containers. Pure functions over JSON, so they are cheap enough to run on every
 * informer event.
 */
import type { ChangeEffect, ConsumerKind, KubeObject, SecretUse } from './types.js';

/** Opt-in (or, with "false", opt-out) for restarting a workload when a Secret it uses changes. */
export const RESTART_ANNOTATION = 'strongroom.io/restart-on-secret-change';

/* eslint-disable @typescript-eslint/no-explicit-any -- pod specs are untyped JSON here; every access is guarded. */
type Json = any;

interface Container {
  name?: string;
  env?: { name?: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
  volumeMounts?: { name?: string; subPath?: string; subPathExpr?: string }[];
}

export interface PodTemplate {
  annotations: Record<string, string>;
  spec: Json;
}

/** The pod template of a workload (for a bare Pod, the Pod itself); undefined for kinds without one. */
export function podTemplateOf(kind: ConsumerKind, object: KubeObject): PodTemplate | undefined {
  const spec = (object.spec ?? {}) as Json;
  if (kind === 'Pod') return { annotations: object.metadata?.annotations ?? {}, spec };
  const template = kind === 'CronJob' ? spec?.jobTemplate?.spec?.template : spec?.template;
  if (!template || typeof template !== 'object') return undefined;
  return { annotations: template.metadata?.annotations ?? {}, spec: template.spec ?? {} };
}

function containersOf(podSpec: Json): { container: Container; init: boolean }[] {
  const list = (value: unknown) => (Array.isArray(value) ? (value as Container[]) : []);
  return [
    ...list(podSpec?.initContainers).map((container) => ({ container, init: true })),
    ...list(podSpec?.containers).map((container) => ({ container, init: false })),
    ...list(podSpec?.ephemeralContainers).map((container) => ({ container, init: false })),
  ];
}

/** Secret names referenced by a volume: a secret volume names one, a projected volume may name several. */
function secretsOfVolume(volume: Json): { name: string; projected: boolean }[] {
  const out: { name: string; projected: boolean }[] = [];
  if (typeof volume?.secret?.secretName === 'string') out.push({ name: volume.secret.secretName, projected: false });
  const sources = volume?.projected?.sources;
  if (Array.isArray(sources)) {
    for (const source of sources) {
      if (typeof source?.secret?.name === 'string') out.push({ name: source.secret.name, projected: true });
    }
  }
  return out;
}

/** Every use of every Secret in a pod spec, keyed by Secret name. */
export function secretUses(podSpec: Json): Map<string, SecretUse[]> {
  const uses = new Map<string, SecretUse[]>();
  const add = (secret: unknown, use: SecretUse) => {
    if (typeof secret !== 'string' || secret === '') return;
    const list = uses.get(secret) ?? [];
    list.push(use);
    uses.set(secret, list);
  };
  const containers = containersOf(podSpec);
  for (const { container, init } of containers) {
    const where = { container: container.name ?? '', ...(init ? { initContainer: true } : {}) };
    for (const env of Array.isArray(container.env) ? container.env : []) {
      const ref = env?.valueFrom?.secretKeyRef;
      if (ref) add(ref.name, { via: 'env', ...where, envVar: env.name ?? '', key: ref.key ?? '' });
    }
    for (const from of Array.isArray(container.envFrom) ? container.envFrom : []) {
      if (from?.secretRef) add(from.secretRef.name, { via: 'envFrom', ...where });
    }
  }
  for (const volume of Array.isArray(podSpec?.volumes) ? podSpec.volumes : []) {
    const volumeName = typeof volume?.name === 'string' ? volume.name : '';
    for (const { name, projected } of secretsOfVolume(volume)) {
      const via = projected ? 'projectedVolume' : 'volume';
      const mounts = containers.flatMap(({ container, init }) =>
        (Array.isArray(container.volumeMounts) ? container.volumeMounts : [])
          .filter((m) => m?.name === volumeName)
          .map((m) => ({ container: container.name ?? '', init, subPath: Boolean(m.subPath || m.subPathExpr) })),
      );
      if (mounts.length === 0) add(name, { via, volume: volumeName });
      for (const m of mounts) {
        add(name, {
          via,
          volume: volumeName,
          container: m.container,
          ...(m.init ? { initContainer: true } : {}),
          ...(m.subPath ? { subPath: true } : {}),
        });
      }
    }
  }
  for (const ref of Array.isArray(podSpec?.imagePullSecrets) ? podSpec.imagePullSecrets : []) {
    add(ref?.name, { via: 'imagePullSecret' });
  }
  return uses;
}

/**
 * What a change to the Secret means for pods using it this way. Env vars and subPath files are fixed at container
 * start; plain volume files are rewritten by the kubelet (so restarting would only cost availability) unless the
 * workload says its process reads them once; image pull secrets only matter for the next pull.
 */
export function classify(uses: SecretUse[], optIn: string | undefined): { effect: ChangeEffect; reason: string } {
  if (optIn === 'false') return { effect: 'none', reason: `opted out with ${RESTART_ANNOTATION}: "false"` };
  const fixed = uses.find((u) => u.via === 'env' || u.via === 'envFrom');
  if (fixed)
    return {
      effect: 'restart',
      reason: `${fixed.via === 'env' ? 'env var' : 'envFrom'} in container ${fixed.container} is read only at start`,
    };
  const subPath = uses.find((u) => u.subPath);
  if (subPath)
    return {
      effect: 'restart',
      reason: `volume ${subPath.volume} is mounted with subPath in ${subPath.container}; the kubelet does not refresh it`,
    };
  const mounted = uses.find((u) => u.via === 'volume' || u.via === 'projectedVolume');
  if (mounted) {
    if (optIn === 'true')
      return {
        effect: 'restart',
        reason: `volume ${mounted.volume}; the workload opted in with ${RESTART_ANNOTATION}`,
      };
    return { effect: 'refresh', reason: `volume ${mounted.volume} is refreshed in place by the kubelet` };
  }
  return { effect: 'none', reason: 'used only as an imagePullSecret' };
}

/** The opt-in annotation, read from the workload's metadata first, then from its pod template. */
export function optInOf(object: KubeObject, template: PodTemplate): string | undefined {
  return object.metadata?.annotations?.[RESTART_ANNOTATION] ?? template.annotations[RESTART_ANNOTATION];
}
