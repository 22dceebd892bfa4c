/**
 * An in-memory index (namespace, Secret name) → consumers, fed by informer events. Each workload's contribution is
 * remembered, so an update first removes what the old template referenced: answering "who uses this Secret?" is
 * a map lookup, never a list call per change.
 */
import { classify, optInOf, podTemplateOf, secretUses } from './references.js';
import { RESTARTABLE_KINDS, type Consumer, type ConsumerKind, type KubeObject } from './types.js';

const workloadKey = (kind: ConsumerKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
const secretKey = (namespace: string, secret: string) => `${namespace}/${secret}`;

/** Consumers of every Secret one object references; [] when it has no pod template or is a Pod owned by a controller. */
export function consumersIn(kind: ConsumerKind, object: KubeObject): Map<string, Consumer> {
  const out = new Map<string, Consumer>();
  const meta = object.metadata ?? {};
  if (!meta.name || !meta.namespace) return out;
  // Pods created by a controller are covered through their owner; only bare Pods are consumers of their own.
  if (kind === 'Pod' && Array.isArray(meta.ownerReferences) && meta.ownerReferences.length > 0) return out;
  const template = podTemplateOf(kind, object);
  if (!template) return out;
  const optIn = optInOf(object, template);
  for (const [secret, uses] of secretUses(template.spec)) {
    const { effect, reason } = classify(uses, optIn);
    out.set(secret, {
      kind,
      namespace: meta.namespace,
      name: meta.name,
      ...(meta.uid ? { uid: meta.uid } : {}),
      labels: meta.labels ?? {},
      uses,
      effect,
      reason,
      templateAnnotations: template.annotations,
      restartable: effect === 'restart' && RESTARTABLE_KINDS.includes(kind),
    });
  }
  return out;
}

export class ConsumerIndex {
  private readonly bySecret = new Map<string, Map<string, Consumer>>();
  private readonly byWorkload = new Map<string, string[]>();

  /** An object was added or changed (informer add/update). */
  upsert(kind: ConsumerKind, object: KubeObject): void {
    const { namespace, name } = object.metadata ?? {};
    if (!namespace || !name) return;
    this.remove(kind, namespace, name);
    const key = workloadKey(kind, namespace, name);
    const found = consumersIn(kind, object);
    const secrets: string[] = [];
    for (const [secret, consumer] of found) {
      const sk = secretKey(namespace, secret);
      let entry = this.bySecret.get(sk);
      if (!entry) this.bySecret.set(sk, (entry = new Map()));
      entry.set(key, consumer);
      secrets.push(sk);
    }
    if (secrets.length > 0) this.byWorkload.set(key, secrets);
  }

  /** An object was deleted. */
  remove(kind: ConsumerKind, namespace: string, name: string): void {
    const key = workloadKey(kind, namespace, name);
    for (const sk of this.byWorkload.get(key) ?? []) {
      const entry = this.bySecret.get(sk);
      entry?.delete(key);
      if (entry?.size === 0) this.bySecret.delete(sk);
    }
    this.byWorkload.delete(key);
  }

  /** Every consumer of a Secret, in a stable order (kind, then name). */
  consumersOf(namespace: string, secret: string): Consumer[] {
    const entry = this.bySecret.get(secretKey(namespace, secret));
    if (!entry) return [];
    return [...entry.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  }

  /** Number of (Secret, workload) pairs indexed: for metrics and tests. */
  get size(): number {
    let n = 0;
    for (const entry of this.bySecret.values()) n += entry.size;
    return n;
  }
}
