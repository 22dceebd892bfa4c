/**
 * The object store: one global, monotonically increasing resourceVersion (like etcd's revision), a bounded history
 * of change events for watches, and the write semantics controllers depend on — optimistic concurrency, generation,
 * status subresource isolation, finalizers and deletionTimestamp, owner-reference garbage collection and namespace
 * termination. Everything is synchronous and in-process, so no write can interleave with another.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { jsonEqual } from './patch.js';
import { apiVersionOf, storageKeyOf, type Obj, type Registry, type ResourceType } from './registry.js';
import { pruneAndDefault, validate as validateSchema } from './schema.js';
import {
  ApiError,
  alreadyExistsError,
  badRequest,
  cause,
  conflictError,
  forbiddenError,
  invalidError,
  notFoundError,
  staleResourceVersion,
  type StatusCause,
} from './status.js';
import { validateMetadata } from './validation.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  resourceVersion: number;
  storageKey: string;
  object: Obj;
  /** The object before the change (MODIFIED only): watchers with selectors need it to see an object leave their view. */
  previous?: Obj;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Writes made by the double's own controllers skip nothing, but are allowed into terminating namespaces. */
  system?: boolean;
}

type Meta = Record<string, unknown> & {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  finalizers?: string[];
  deletionTimestamp?: string;
  ownerReferences?: { uid: string; apiVersion: string; kind: string; name: string }[];
  labels?: Record<string, string>;
};

const meta = (o: Obj) => (o.metadata ??= {}) as Meta;
const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;
export const nowRfc3339 = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const randomSuffix = () => {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
};

/** Everything that is not metadata or status: a change here is a new generation. */
function specPart(o: Obj): Obj {
  const { metadata: _m, status: _s, resourceVersion: _r, ...rest } = o;
  return rest;
}

export class ObjectStore {
  private revision = 0;
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly byUid = new Map<string, { storageKey: string; key: string }>();
  private history: StoreEvent[] = [];
  /** Every event with resourceVersion > historyFloor is still in `history`. */
  private historyFloor = 0;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly pending: StoreEvent[] = [];
  private dispatching = false;

  constructor(
    private readonly registry: Registry,
    private readonly historyLimit = 1000,
    /** The namespace controller works in the background, as in a cluster: `kubectl delete -f` of a namespace and its content must not race. */
    private readonly namespaceCleanupDelayMs = 100,
  ) {}

  get resourceVersion(): number {
    return this.revision;
  }

  get oldestResumableResourceVersion(): number {
    return this.historyFloor;
  }

  /** Drops the watch history, as etcd compaction does: watches resuming from an older RV get 410 Gone. */
  compact(): void {
    this.history = [];
    this.historyFloor = this.revision;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events after `resourceVersion`, or null when they were compacted away. */
  eventsSince(resourceVersion: number): StoreEvent[] | null {
    if (resourceVersion < this.historyFloor) return null;
    return this.history.filter((e) => e.resourceVersion > resourceVersion);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    const found = this.bucket(type).get(keyOf(type.namespaced ? namespace : undefined, name));
    return found ? structuredClone(found) : undefined;
  }

  mustGet(type: ResourceType, namespace: string | undefined, name: string): Obj {
    const found = this.get(type, namespace, name);
    if (!found) throw notFoundError(type.group, type.plural, name);
    return found;
  }

  /** Objects of a type, sorted by namespace then name (the order the API server lists them in). */
  list(type: ResourceType, namespace?: string): Obj[] {
    const prefix = namespace && type.namespaced ? `${namespace}/` : '';
    return [...this.bucket(type).entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o));
  }

  findByUid(uid: string): { type: ResourceType; object: Obj } | undefined {
    const where = this.byUid.get(uid);
    if (!where) return undefined;
    const object = this.objects.get(where.storageKey)?.get(where.key);
    const type = this.typeFor(where.storageKey);
    return object && type ? { type, object: structuredClone(object) } : undefined;
  }

  create(type: ResourceType, input: Obj, options: WriteOptions = {}): Obj {
    const object = structuredClone(input);
    const m = meta(object);
    if (!m.name && typeof m.generateName === 'string' && m.generateName !== '')
      m.name = `${m.generateName}${randomSuffix()}`;
    if (type.namespaced) {
      if (!m.namespace) throw badRequest('the namespace of the object must be set');
      this.checkNamespaceWritable(m.namespace, options);
    } else {
      delete m.namespace;
    }
    // Server-owned metadata is never taken from the client.
    for (const f of [
      'uid',
      'resourceVersion',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'selfLink',
    ])
      delete m[f];
    if (type.statusSubresource) delete object.status;
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    const prepared = this.prepareAndValidate(type, object, undefined);
    const pm = meta(prepared);
    if (this.bucket(type).has(keyOf(pm.namespace, pm.name!)))
      throw alreadyExistsError(type.group, type.plural, pm.name!);
    pm.uid = randomUUID();
    pm.creationTimestamp = nowRfc3339();
    if (type.tracksGeneration) pm.generation = 1;
    if (options.dryRun) return prepared;
    return this.commit(type, prepared, 'ADDED');
  }

  /**
   * Replaces an object (PUT, or the result of a PATCH). With `subresource: 'status'` only `status` is taken from
   * the input; otherwise status is kept from the stored object when the type has a status subresource.
   */
  update(type: ResourceType, input: Obj, options: WriteOptions & { subresource?: 'status' } = {}): Obj {
    const m = meta(input);
    const name = m.name;
    if (!name) throw invalidError(type.kind, type.group, '', [cause.required('metadata.name')]);
    const namespace = type.namespaced ? m.namespace : undefined;
    const existing = this.bucket(type).get(keyOf(namespace, name));
    if (!existing) throw notFoundError(type.group, type.plural, name);
    const em = meta(existing);
    if (m.resourceVersion !== undefined && m.resourceVersion !== '' && m.resourceVersion !== em.resourceVersion) {
      throw staleResourceVersion(type.group, type.plural, name);
    }
    if (m.uid !== undefined && m.uid !== '' && m.uid !== em.uid) {
      throw conflictError(
        type.group,
        type.plural,
        name,
        `Precondition failed: UID in precondition: ${m.uid}, UID in object meta: ${em.uid}`,
      );
    }
    let next: Obj;
    if (options.subresource === 'status') {
      next = structuredClone(existing);
      if (input.status === undefined) delete next.status;
      else next.status = structuredClone(input.status);
    } else {
      next = structuredClone(input);
      const nm = meta(next);
      for (const f of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
        'namespace',
        'name',
      ]) {
        if (em[f] === undefined) delete nm[f];
        else nm[f] = em[f];
      }
      if (type.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = structuredClone(existing.status);
      }
      if (em.deletionTimestamp) {
        const added = (nm.finalizers ?? []).filter((f) => !(em.finalizers ?? []).includes(f));
        if (added.length > 0) {
          throw invalidError(type.kind, type.group, name, [
            cause.forbidden(
              'metadata.finalizers',
              `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            ),
          ]);
        }
      }
    }
    next.apiVersion = apiVersionOf(type);
    next.kind = type.kind;
    const prepared = this.prepareAndValidate(type, next, existing);
    const pm = meta(prepared);
    if (type.tracksGeneration) {
      const changed = !jsonEqual(specPart(prepared), specPart(existing));
      pm.generation = ((em.generation as number | undefined) ?? 1) + (changed ? 1 : 0);
    }
    pm.resourceVersion = em.resourceVersion;
    if (jsonEqual(prepared, existing)) return structuredClone(existing); // a no-op write changes nothing, notifies no one
    if (options.dryRun) return prepared;
    const stored = this.commit(type, prepared, 'MODIFIED', existing);
    if (pm.deletionTimestamp && (pm.finalizers ?? []).length === 0) return this.remove(type, stored);
    return stored;
  }

  /** DELETE semantics. Returns the object and whether it is gone (false: waiting on finalizers). */
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): { object: Obj; deleted: boolean } {
    const existing = this.mustGet(type, namespace, name);
    const em = meta(existing);
    const pre = options.preconditions ?? {};
    if (pre.uid && pre.uid !== em.uid) {
      throw conflictError(
        type.group,
        type.plural,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${em.uid}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== em.resourceVersion) {
      throw conflictError(
        type.group,
        type.plural,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${em.resourceVersion}`,
      );
    }
    if (options.dryRun) return { object: existing, deleted: false };
    if (type.group === '' && type.plural === 'namespaces') return this.terminateNamespace(existing);
    if (options.propagationPolicy === 'Orphan') this.orphanDependents(em.uid!);
    if (options.propagationPolicy === 'Foreground') {
      for (const dep of this.dependentsOf(em.uid!))
        this.delete(dep.type, meta(dep.object).namespace, meta(dep.object).name!, { propagationPolicy: 'Foreground' });
    }
    if ((em.finalizers ?? []).length > 0) {
      if (em.deletionTimestamp) return { object: existing, deleted: false };
      const marked = structuredClone(existing);
      meta(marked).deletionTimestamp = nowRfc3339();
      meta(marked).deletionGracePeriodSeconds = 0;
      return { object: this.commit(type, marked, 'MODIFIED', existing), deleted: false };
    }
    return { object: this.remove(type, existing), deleted: true };
  }

  /** Removes every object of a type (a CRD going away takes its custom resources with it). */
  purge(type: ResourceType): void {
    for (const o of this.list(type)) this.remove(type, o);
  }

  // --------------------------------------------------------------------------------------------------- internals

  private typeFor(storageKey: string): ResourceType | undefined {
    return this.registry.all().find((t) => storageKeyOf(t) === storageKey);
  }

  private bucket(type: ResourceType): Map<string, Obj> {
    const key = storageKeyOf(type);
    let bucket = this.objects.get(key);
    if (!bucket) this.objects.set(key, (bucket = new Map()));
    return bucket;
  }

  private namespaceType(): ResourceType {
    return this.registry.find('', 'v1', 'namespaces')!;
  }

  private checkNamespaceWritable(namespace: string, options: WriteOptions): void {
    const ns = this.bucket(this.namespaceType()).get(keyOf(undefined, namespace));
    if (!ns) throw notFoundError('', 'namespaces', namespace);
    if (meta(ns).deletionTimestamp && !options.system) {
      throw forbiddenError(`unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  private prepareAndValidate(type: ResourceType, object: Obj, old: Obj | undefined): Obj {
    let result = object;
    type.prepare?.(result, old);
    const causes: StatusCause[] = [];
    if (type.schema) {
      result = pruneAndDefault(result, type.schema);
      causes.push(...validateSchema(result, type.schema));
    }
    const nameRule = type.plural === 'namespaces' ? 'label' : type.custom ? 'path-segment' : 'subdomain';
    causes.unshift(...validateMetadata(result, nameRule));
    causes.push(...(type.validate?.(result, old) ?? []));
    if (causes.length > 0) throw invalidError(type.kind, type.group, String(meta(result).name ?? ''), causes);
    return result;
  }

  private commit(type: ResourceType, object: Obj, kind: 'ADDED' | 'MODIFIED', previous?: Obj): Obj {
    const m = meta(object);
    m.resourceVersion = String(++this.revision);
    const key = keyOf(m.namespace, m.name!);
    this.bucket(type).set(key, object);
    this.byUid.set(m.uid!, { storageKey: storageKeyOf(type), key });
    this.emit({ type: kind, resourceVersion: this.revision, storageKey: storageKeyOf(type), object, previous });
    return structuredClone(object);
  }

  private remove(type: ResourceType, object: Obj): Obj {
    const m = meta(object);
    const key = keyOf(m.namespace, m.name!);
    if (!this.bucket(type).has(key)) return structuredClone(object);
    this.bucket(type).delete(key);
    this.byUid.delete(m.uid!);
    const gone = structuredClone(object);
    meta(gone).resourceVersion = String(++this.revision);
    this.emit({ type: 'DELETED', resourceVersion: this.revision, storageKey: storageKeyOf(type), object: gone });
    this.collectGarbage(m.uid!);
    if (m.namespace) this.finishNamespaceIfEmpty(m.namespace);
    return structuredClone(gone);
  }

  private dependentsOf(uid: string): { type: ResourceType; object: Obj }[] {
    const found: { type: ResourceType; object: Obj }[] = [];
    for (const [storageKey, bucket] of this.objects) {
      const type = this.typeFor(storageKey);
      if (!type) continue;
      for (const o of bucket.values()) {
        if ((meta(o).ownerReferences ?? []).some((r) => r.uid === uid))
          found.push({ type, object: structuredClone(o) });
      }
    }
    return found;
  }

  /** Background cascading deletion: a dependent whose owners are all gone is deleted; one with a live owner loses the dead reference. */
  private collectGarbage(ownerUid: string): void {
    for (const { type, object } of this.dependentsOf(ownerUid)) {
      const m = meta(object);
      const live = (m.ownerReferences ?? []).filter((r) => r.uid !== ownerUid && this.byUid.has(r.uid));
      if (live.length === 0) {
        if (this.bucket(type).has(keyOf(m.namespace, m.name!))) this.delete(type, m.namespace, m.name!);
      } else {
        m.ownerReferences = (m.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
        this.update(type, object, { system: true });
      }
    }
  }

  private orphanDependents(ownerUid: string): void {
    for (const { type, object } of this.dependentsOf(ownerUid)) {
      const m = meta(object);
      m.ownerReferences = (m.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
      if (m.ownerReferences.length === 0) delete m.ownerReferences;
      this.update(type, object, { system: true });
    }
  }

  private terminateNamespace(ns: Obj): { object: Obj; deleted: boolean } {
    const type = this.namespaceType();
    const name = meta(ns).name!;
    let current = ns;
    if (!meta(ns).deletionTimestamp) {
      const marked = structuredClone(ns);
      meta(marked).deletionTimestamp = nowRfc3339();
      meta(marked).deletionGracePeriodSeconds = 0;
      marked.status = { ...(marked.status as object), phase: 'Terminating' };
      current = this.commit(type, marked, 'MODIFIED', ns);
      setTimeout(() => {
        try {
          this.emptyNamespace(name);
        } catch (err) {
          console.error(`kube-api double: cleaning up namespace ${name} failed`, err);
        }
      }, this.namespaceCleanupDelayMs).unref();
    }
    return { object: current, deleted: false };
  }

  /** The namespace controller: delete everything in it; objects with finalizers linger until they are released. */
  private emptyNamespace(name: string): void {
    for (const t of this.namespacedTypes()) {
      for (const o of this.list(t, name)) {
        if (this.bucket(t).has(keyOf(name, meta(o).name!))) this.delete(t, name, meta(o).name!);
      }
    }
    this.finishNamespaceIfEmpty(name);
  }

  private namespacedTypes(): ResourceType[] {
    const seen = new Set<string>();
    return this.registry.all().filter((t) => {
      if (!t.namespaced || t.virtual || seen.has(storageKeyOf(t))) return false;
      seen.add(storageKeyOf(t));
      return true;
    });
  }

  private finishNamespaceIfEmpty(namespace: string): Obj | undefined {
    const type = this.namespaceType();
    const ns = this.bucket(type).get(keyOf(undefined, namespace));
    if (!ns || !meta(ns).deletionTimestamp) return undefined;
    for (const t of this.namespacedTypes()) if (this.list(t, namespace).length > 0) return undefined;
    return this.remove(type, ns);
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.historyFloor = dropped[dropped.length - 1]!.resourceVersion;
    }
    // Listeners may write (hooks, controllers). Queue instead of recursing so everyone sees events in RV order.
    this.pending.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(next);
          } catch (err) {
            // A failing listener (say, a hook rejecting a bad CRD) must not break the write that already happened.
            if (!(err instanceof ApiError)) console.error('kube-api double: event listener failed', err);
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }
}
