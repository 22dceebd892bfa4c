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
    void (async () => {
      let next: number | undefined;
      try {
        next = (await engine.reconcile(namespace, name)).requeueAfterMs;
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
    if (obj.metadata?.namespace && obj.metadata.name) enqueue(obj.metadata.namespace, obj.metadata.name);
  };
  informer.on('add', onObject);
  informer.on('update', onObject);
  informer.on('error', (err) => {
    if (stopped) return;
    log(`rollout: ExternalSecret watch failed (${(err as Error)?.message ?? err}); restarting`);
    setTimeout(() => void informer.start().catch(() => undefined), 1000).unref();
  });
  const ready = informer.start();

  return {
    async onSecretChanged(event) {
      await engine.onSecretChanged(event);
      enqueue(event.externalSecret.metadata.namespace, event.externalSecret.metadata.name);
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
