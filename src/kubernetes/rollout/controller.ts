/**
 * Drives the engine: a keyed queue (one reconcile per ExternalSecret at a time, requeues coalesced), fed by an
 * ExternalSecret informer, so control annotations and status changes are picked up at once, and by the operator's
 * `onSecretChanged` hook. On start the informer's initial list enqueues every ExternalSecret: any rollout that was
 * in flight when the previous operator stopped resumes from its status.
 */
import { makeInformer, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/common.js';
import type { RolloutEngine } from './engine.js';
import type { SecretChangedEvent } from './types.js';

export interface RolloutController {
  onSecretChanged(event: SecretChangedEvent): Promise<void>;
  enqueue(namespace: string, name: string, afterMs?: number): void;
  ready: Promise<void>;
  stop(): Promise<void>;
}

export function startRolloutController(
  kc: KubeConfig,
  engine: RolloutEngine,
  options: { log?: (message: string) => void; errorBackoffMs?: number; namespace?: string } = {},
): RolloutController {
  const log = options.log ?? ((m: string) => console.error(m));
  const running = new Set<string>();
  const dirty = new Set<string>();
  const timers = new Map<string, NodeJS.Timeout>();
  /** The ExternalSecret as the engine's own write left it, for the next reconcile of its key to start from. */
  const written = new Map<string, unknown>();
  let stopped = false;

  const enqueue = (namespace: string, name: string, afterMs = 0) => {
    if (stopped) return;
    const key = `${namespace}/${name}`;
    if (afterMs > 0) {
      const existing = timers.get(key);
      if (existing) clearTimeout(existing);
      timers.set(
        key,
        setTimeout(() => {
          timers.delete(key);
          enqueue(namespace, name);
        }, afterMs),
      );
      return;
    }
    if (running.has(key)) {
      dirty.add(key);
      return;
    }
    running.add(key);
    const start = written.get(key);
    written.delete(key);
    void (async () => {
      let next: number | undefined;
      try {
        next = (await engine.reconcile(namespace, name, start)).requeueAfterMs;
      } catch (err) {
        log(`rollout ${key}: ${(err as Error).message}`);
        next = options.errorBackoffMs ?? 2000;
      } finally {
        running.delete(key);
      }
      if (dirty.delete(key)) enqueue(namespace, name);
      else if (next !== undefined) enqueue(namespace, name, next);
    })();
  };

  const custom = kc.makeApiClient(CustomObjectsApi);
  const scoped = options.namespace;
  const path = `/apis/${GROUP}/${VERSION}${scoped ? `/namespaces/${scoped}` : ''}/externalsecrets`;
  const list = () =>
    (scoped
      ? custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: scoped,
          plural: 'externalsecrets',
        })
      : custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'externalsecrets' })) as never;
  const informer = makeInformer(kc, path, list);
  const onObject = (obj: KubernetesObject) => {
    const { namespace, name } = obj.metadata ?? {};
    if (!namespace || !name) return;
    const changed = () => {
      // Someone else changed it: the next reconcile reads it afresh.
      written.delete(`${namespace}/${name}`);
      enqueue(namespace, name);
    };
    // The echo of the engine's own write (or of a version it already wrote over): its loop went on from there.
    const seen = engine.alreadySeen(obj);
    // Nothing to do for this version (most ExternalSecrets, most of the time): no GET, no reconcile.
    if (seen !== true && engine.idle(obj)) {
      written.delete(`${namespace}/${name}`);
      return;
    }
    if (seen === false) changed();
    else if (seen !== true) void seen.then((yes) => yes || changed());
  };
  informer.on('add', onObject);
  informer.on('update', onObject);
  informer.on('delete', (obj) => {
    const { namespace, name } = obj.metadata ?? {};
    if (!namespace || !name) return;
    written.delete(`${namespace}/${name}`);
    engine.forget(namespace, name);
  });
  informer.on('error', (err) => {
    if (stopped) return;
    log(`rollout: ExternalSecret watch failed (${(err as Error)?.message ?? err}); restarting`);
    setTimeout(() => void informer.start().catch(() => undefined), 1000).unref();
  });
  const ready = informer.start();

  return {
    async onSecretChanged(event) {
      const stored = await engine.onSecretChanged(event);
      const { namespace, name } = event.externalSecret.metadata;
      // Recorded as finished already (nothing to restart): no reconcile to run.
      if (stored && engine.idle(stored)) return;
      // Only when it runs now: a reconcile in flight may write again, and a later run must not start from this.
      if (stored && !running.has(`${namespace}/${name}`)) written.set(`${namespace}/${name}`, stored);
      enqueue(namespace, name);
    },
    enqueue,
    ready,
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      await informer.stop();
      while (running.size > 0) await new Promise((r) => setTimeout(r, 10));
    },
  };
}
