/**
 * An informer that never gives up and says how it is doing. client-node's ListWatch relists on 410 Gone itself, but
 * on any other failure (API server restart, network, a refused connection) it only emits 'error' and stops; its
 * `start()` resolves even when the list failed. Here a failure restarts it with backoff, `start()` resolves only once
 * the first list succeeded and the watch is established, and every success and failure is reported to the health
 * tracker behind `/readyz`.
 */
import {
  ListWatch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { ReportingWatch } from '../reporting-watch.js';
import { describeKubeError, type InformerReporter } from './health.js';

export interface ResilientInformer<T extends KubernetesObject> extends ObjectCache<T> {
  /** Starts listing and watching; resolves once listed and watching (or stopped). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const NO_REPORTS: InformerReporter = { watching: () => undefined, failed: () => undefined };

export function resilientInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  handlers: { add?: (o: T) => void; update?: (o: T, old?: T) => void; delete?: (o: T) => void },
  log: (message: string) => void,
  labelSelector?: string,
  health: InformerReporter = NO_REPORTS,
): ResilientInformer<T> {
  let stopped = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let synced: (() => void) | undefined;
  const watch = new ReportingWatch(kc, () => {
    // Backoff starts over only once a watch is really up (not on every attempt: that kept it at its first step).
    failures = 0;
    health.watching();
    synced?.();
    synced = undefined;
  });
  const informer = new ListWatch<T>(path, watch, list, false, labelSelector);
  // Keep the previous object so update handlers can compare generations.
  const previous = new Map<string, T>();
  const keyOf = (o: T) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  informer.on('add', (o) => {
    previous.set(keyOf(o), o);
    handlers.add?.(o);
  });
  informer.on('update', (o) => {
    const old = previous.get(keyOf(o));
    previous.set(keyOf(o), o);
    handlers.update?.(o, old);
  });
  informer.on('delete', (o) => {
    previous.delete(keyOf(o));
    handlers.delete?.(o);
  });
  // Any failure (the library's 'error', or start() rejecting outside that path) restarts the informer with backoff.
  const restartLater = (err: unknown) => {
    if (stopped) return;
    failures++;
    health.failed(err);
    const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 7)) * (0.8 + 0.4 * Math.random());
    log(`watch ${path} failed (${describeKubeError(err)}); restarting in ${Math.round(delay)} ms`);
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!stopped) informer.start().catch(restartLater);
    }, delay);
  };
  informer.on('error', restartLater);
  return {
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    start() {
      stopped = false;
      const ready = new Promise<void>((resolve) => (synced = resolve));
      informer.start().catch(restartLater);
      return ready;
    },
    async stop() {
      stopped = true;
      if (restartTimer) clearTimeout(restartTimer);
      synced?.();
      synced = undefined;
      await informer.stop();
    },
  };
}
