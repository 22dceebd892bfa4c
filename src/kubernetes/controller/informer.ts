/**
 * An informer that never gives up: client-node's informer relists on 410 Gone itself, but stops on other errors
 * (API server restart, network); we restart it with backoff. `synced` resolves after the first list.
 */
import {
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';

export interface ResilientInformer<T extends KubernetesObject> extends ObjectCache<T> {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function resilientInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  handlers: { add?: (o: T) => void; update?: (o: T, old?: T) => void; delete?: (o: T) => void },
  log: (message: string) => void,
  labelSelector?: string,
): ResilientInformer<T> {
  const informer = makeInformer<T>(kc, path, list, labelSelector);
  let stopped = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
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
  informer.on('connect', () => {
    failures = 0;
  });
  informer.on('error', (err) => {
    if (stopped) return;
    failures++;
    const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 7)) * (0.8 + 0.4 * Math.random());
    log(
      `watch ${path} failed (${(err as { code?: number; message?: string })?.code ?? (err as Error)?.message ?? 'error'}); restarting in ${Math.round(delay)} ms`,
    );
    restartTimer = setTimeout(() => {
      if (!stopped) informer.start().catch(() => {});
    }, delay);
  });
  return {
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    async start() {
      stopped = false;
      for (;;) {
        try {
          await informer.start();
          return;
        } catch (err) {
          if (stopped) return;
          failures++;
          log(`listing ${path} failed (${(err as { code?: number }).code ?? (err as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** Math.min(failures, 6))));
        }
      }
    },
    async stop() {
      stopped = true;
      if (restartTimer) clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}
