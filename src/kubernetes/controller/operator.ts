/**
 * The operator's start-up: informers feed keys into one work queue; workers run the reconcilers. Which events
 * enqueue which keys is declared in `watches.ts`; this file builds informers from that table, wires the reconcilers
 * to their dependencies and runs them. With leader election on, informers and workers only run while this replica
 * holds the Lease.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Namespace,
  type V1Secret,
} from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION } from '../api/common.js';
import type { ClusterExternalSecret } from '../api/cluster-external-secret.js';
import type { ExternalSecret } from '../api/external-secret.js';
import type { SecretStore } from '../api/secret-store.js';
import { startRollouts, type Rollouts } from '../rollout/attach.js';
import { createProviderVersionSource } from '../rollout/provider-source.js';
import { StoreUnavailableError, type OnSecretChanged } from '../types.js';
import { ReadCache } from './cache.js';
import { CES_LABEL, createClusterExternalSecretReconciler } from './cluster-external-secret.js';
import { createEventRecorder } from './events.js';
import { createInformerHealth, type Readiness } from './health.js';
import { RetryLater, createExternalSecretReconciler } from './external-secret.js';
import { resilientInformer, type ResilientInformer } from './informer.js';
import { LeaderElector } from './leader.js';
import { createMetrics, type Metrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { createSecretStoreReconciler } from './secret-store.js';
import { ClientPool } from './stores.js';
import { handlersFor, watchesFor, type Kind, type Resource, type WatchLookups } from './watches.js';
import { wireGenerators } from '../generators/wiring.js';
import { startClusterPublisher, type PublishOptions } from '../publisher/index.js';
import type { Publisher } from '../publisher/publisher.js';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Watch only this namespace (no cluster-scoped kinds then). */
  namespace?: string;
  /** Where the operator runs: events for cluster-scoped objects, cluster store validation. */
  operatorNamespace: string;
  concurrency?: number;
  readCacheTtlMs?: number;
  leaderElection?: {
    namespace: string;
    name: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
    identity?: string;
  };
  /**
   * Secret rollouts to the workloads that use a synced Secret (on by default; `false` only syncs Secrets).
   * `pollMs`: how often a wave's health is checked.
   */
  rollouts?: false | { pollMs?: number };
  /** Called after a target Secret's data changed, besides the rollout engine. */
  onSecretChanged?: OnSecretChanged;
  log?: (message: string) => void;
  metrics?: Metrics;
  /** Publish a summary of this cluster to the store and apply the rollout controls queued there (leader only). */
  publish?: PublishOptions;
  /**
   * PEM CA certificate(s) for stores whose SecretStore has no caBundle (the operator's `--ca-cert`): trusted on those
   * connections only, not for the Kubernetes API or cloud providers.
   */
  storeCa?: Buffer;
  /** How long informers may fail to reach the API server before `readiness()` turns false (default 10 s). */
  apiUnreachableGraceMs?: number;
  /**
   * Resolve only once every informer has listed and is watching (default). `false` returns at once, so a process can
   * answer `/readyz` (and stop on a signal) while the API server is still out of reach.
   */
  awaitSync?: boolean;
}

const ES = { group: GROUP, version: VERSION, plural: 'externalsecrets' };
const PLURAL: Record<Kind, string> = {
  ExternalSecret: 'externalsecrets',
  SecretStore: 'secretstores',
  ClusterSecretStore: 'clustersecretstores',
  ClusterExternalSecret: 'clusterexternalsecrets',
};

export interface Operator {
  metrics: Metrics;
  /** True once informers have listed (or while standing by for leadership). */
  ready(): boolean;
  /**
   * `ready()` with the reasons: every informer listed and watching, none failing beyond the grace, not shutting down.
   * A replica standing by for leadership is ready (it has nothing to sync until it leads).
   */
  readiness(): Readiness;
  isLeader(): boolean;
  /** Resolves when the operator stops (shutdown or lost leadership). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<Operator> {
  const log = options.log ?? ((m: string) => console.error(`strongroom operator: ${m}`));
  const kc = options.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const metrics = options.metrics ?? createMetrics();
  const health = createInformerHealth({ graceMs: options.apiUnreachableGraceMs ?? 10_000 });
  const scoped = options.namespace;
  const events = createEventRecorder(core, 'strongroom-operator', options.operatorNamespace, log);
  const cache = new ReadCache(options.readCacheTtlMs ?? 5_000);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  const readSecretKey = (namespace: string) => async (ref: { name: string; key: string; namespace?: string }) => {
    const ns = ref.namespace ?? namespace;
    let secret: V1Secret;
    try {
      secret = await core.readNamespacedSecret({ name: ref.name, namespace: ns });
    } catch (err) {
      const code = (err as { code?: number }).code;
      throw new StoreUnavailableError(
        `cannot read Secret ${ns}/${ref.name}: ${code === 404 ? 'not found' : (code ?? 'error')}`,
      );
    }
    const raw = secret.data?.[ref.key];
    if (raw === undefined) throw new StoreUnavailableError(`Secret ${ns}/${ref.name} has no key "${ref.key}"`);
    return Buffer.from(raw, 'base64').toString('utf8');
  };
  const clients = new ClientPool({
    kubeConfig: kc,
    readSecretKey,
    onCall: (provider, operation) => metrics.providerCalls.inc({ provider, operation }),
    ...(options.storeCa ? { storeCa: options.storeCa } : {}),
  });

  /** Merge-patches status; returns the object as stored (undefined when it is gone). */
  async function writeStatus<T>(
    kind: Kind,
    obj: { metadata: { name: string; namespace?: string } },
    status: unknown,
  ): Promise<T | undefined> {
    const { name, namespace } = obj.metadata;
    const body = { status };
    try {
      if (namespace)
        return (await custom.patchNamespacedCustomObjectStatus(
          { group: GROUP, version: VERSION, namespace, plural: PLURAL[kind], name, body },
          mergePatch,
        )) as T;
      return (await custom.patchClusterCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: PLURAL[kind], name, body },
        mergePatch,
      )) as T;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      return undefined;
    }
  }

  // --- informers (created on start; with leader election, after acquiring the lease) ---
  const queue = new WorkQueue(
    handle,
    { concurrency: options.concurrency ?? 16, baseDelayMs: 500, maxDelayMs: 300_000 },
    (key, err) => {
      if (!(err instanceof RetryLater))
        log(`reconcile ${key} failed: ${(err as { code?: number }).code ?? (err as Error).message}`);
    },
  );
  const gauge = setInterval(() => metrics.queueDepth.set(queue.depth), 1000);
  gauge.unref();

  // --- watches: which events enqueue which keys is declared in watches.ts; here they only become informers ---
  const path = (resource: Resource) => {
    if (resource === 'namespaces') return '/api/v1/namespaces';
    const base = resource === 'secrets' ? '/api/v1' : `/apis/${GROUP}/${VERSION}`;
    return scoped ? `${base}/namespaces/${scoped}/${resource}` : `${base}/${resource}`;
  };
  const list = (resource: Resource, labelSelector?: string) => async () => {
    if (resource === 'namespaces') return core.listNamespace();
    if (resource === 'secrets')
      return scoped
        ? core.listNamespacedSecret({ namespace: scoped, labelSelector })
        : core.listSecretForAllNamespaces({ labelSelector });
    return (
      scoped
        ? await custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: scoped,
            plural: resource,
          })
        : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: resource })
    ) as { items: KubernetesObject[]; metadata?: { resourceVersion?: string } };
  };
  const watches = watchesFor(scoped);
  const byResource = new Map<Resource, ResilientInformer<KubernetesObject>>();
  const lookups: WatchLookups = {
    externalSecrets: (namespace) =>
      (byResource.get('externalsecrets')?.list(namespace) ?? []) as unknown as ExternalSecret[],
    clusterExternalSecrets: () => byResource.get('clusterexternalsecrets')?.list() ?? [],
  };
  for (const w of watches) {
    const handlers = handlersFor(w, lookups, (k) => queue.add(k));
    byResource.set(
      w.resource,
      resilientInformer<KubernetesObject>(
        kc,
        path(w.resource),
        list(w.resource, w.labelSelector) as never,
        handlers,
        log,
        w.labelSelector,
        health.track(w.resource),
      ),
    );
  }
  const informers = [...byResource.values()];
  const esInformer = byResource.get('externalsecrets')!;
  const ssInformer = byResource.get('secretstores')!;
  const cssInformer = byResource.get('clustersecretstores');
  const cesInformer = byResource.get('clusterexternalsecrets');
  const nsInformer = byResource.get('namespaces') as unknown as ResilientInformer<V1Namespace> | undefined;
  const secretInformer = byResource.get('secrets') as unknown as ResilientInformer<V1Secret>;
  const esByCes = (name: string) =>
    ([...esInformer.list()] as unknown as ExternalSecret[]).filter((es) => es.metadata.labels?.[CES_LABEL] === name);

  async function getStore(
    kind: 'SecretStore' | 'ClusterSecretStore',
    namespace: string,
    name: string,
  ): Promise<SecretStore | undefined> {
    if (kind === 'SecretStore') return ssInformer.get(name, namespace) as unknown as SecretStore | undefined;
    if (cssInformer) return cssInformer.get(name) as unknown as SecretStore | undefined;
    try {
      return (await custom.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'clustersecretstores',
        name,
      })) as SecretStore;
    } catch {
      return undefined;
    }
  }
  async function getNamespace(name: string): Promise<V1Namespace | undefined> {
    if (nsInformer) return nsInformer.get(name);
    return core.readNamespace({ name }).catch(() => undefined);
  }
  async function readExternalSecret(namespace: string, name: string): Promise<ExternalSecret | undefined> {
    try {
      return (await custom.getNamespacedCustomObject({ ...ES, namespace, name })) as ExternalSecret;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }
  // Generated credentials: their leases are looked after in the ExternalSecret's reconcile.
  const generators = wireGenerators({
    core,
    custom,
    getStore,
    getNamespace,
    clients,
    events,
    readExternalSecret,
    writeCredentials: (es, credentials) => writeStatus('ExternalSecret', es, { credentials }),
    rolloutsEnabled: options.rollouts !== false,
    count: (operation, result) => metrics.leaseOperations.inc({ operation, result }),
  });
  // Rollouts run only where reconciles run: created with the controllers (after winning the lease).
  let rollouts: Rollouts | undefined;
  let publisher: Publisher | undefined;
  const reconcileEs = createExternalSecretReconciler({
    core,
    getStore,
    getNamespace,
    getCachedSecret: (namespace, name) => secretInformer.get(name, namespace),
    writeStatus: (es, status) => writeStatus<ExternalSecret>('ExternalSecret', es, status),
    readExternalSecret,
    clients,
    cache,
    events,
    credentials: generators.credentials,
    async onSecretChanged(change) {
      await rollouts?.onSecretChanged(change);
      await options.onSecretChanged?.(change);
    },
    countWrite: (operation) => metrics.secretWrites.inc({ operation }),
    storeTrouble: (kind, namespace, name) =>
      queue.add(kind === 'SecretStore' ? `SecretStore/${namespace}/${name}` : `ClusterSecretStore//${name}`),
    log,
  });
  const reconcileStore = createSecretStoreReconciler({
    clients,
    events,
    operatorNamespace: options.operatorNamespace,
    writeStatus: (store, status) => writeStatus(store.kind, store, status),
  });
  const reconcileCes = createClusterExternalSecretReconciler({
    custom,
    namespaces: () => [...(nsInformer?.list() ?? [])],
    externalSecretsOf: esByCes,
    writeStatus: (ces, status) => writeStatus('ClusterExternalSecret', ces, status),
    events,
  });

  async function handle(k: string): Promise<{ requeueAfterMs?: number } | void> {
    const [kind, namespace, name] = k.split('/') as [Kind, string, string];
    const started = process.hrtime.bigint();
    let result: 'ok' | 'error' = 'ok';
    try {
      switch (kind) {
        case 'ExternalSecret': {
          const es = esInformer.get(name, namespace) as unknown as ExternalSecret | undefined;
          return es ? await reconcileEs({ ...es, kind: 'ExternalSecret' }) : undefined;
        }
        case 'SecretStore': {
          const s = ssInformer.get(name, namespace) as unknown as SecretStore | undefined;
          return s ? await reconcileStore({ ...s, kind: 'SecretStore' }) : undefined;
        }
        case 'ClusterSecretStore': {
          const s = cssInformer?.get(name) as unknown as SecretStore | undefined;
          return s ? await reconcileStore({ ...s, kind: 'ClusterSecretStore' }) : undefined;
        }
        case 'ClusterExternalSecret': {
          const c = cesInformer?.get(name) as unknown as ClusterExternalSecret | undefined;
          return c ? await reconcileCes({ ...c, kind: 'ClusterExternalSecret' }) : undefined;
        }
      }
    } catch (err) {
      result = 'error';
      const reason =
        err instanceof RetryLater ? 'retry' : (err as { code?: number }).code === 409 ? 'conflict' : 'error';
      metrics.errors.inc({ kind, reason });
      throw err;
    } finally {
      metrics.syncs.inc({ kind, result });
      metrics.latency.observe({ kind }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  // --- lifecycle ---
  let informersReady = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let shuttingDown: Promise<void> | undefined;

  async function runControllers() {
    if (options.rollouts !== false) {
      rollouts = startRollouts({
        kubeConfig: kc,
        versionSource: createProviderVersionSource({
          // Same stores and pooled clients as the reconciler; the kind is set as the reconciler sets it.
          getStore: async (kind, namespace, name) => {
            const store = await getStore(kind, namespace, name);
            return store ? { ...store, kind } : undefined;
          },
          clients,
          generatedAt: generators.generatedAt,
        }),
        ...(scoped ? { namespace: scoped } : {}),
        ...(options.rollouts?.pollMs ? { pollMs: options.rollouts.pollMs } : {}),
        // Its workload informers count for readiness too: rollouts need them as much as syncs need ours.
        track: (name) => health.track(name),
        readStore: getStore,
        log,
      });
    }
    // Stores, namespaces and Secrets first so the first ExternalSecret reconciles find them in the caches.
    const start = (primary: boolean) =>
      watches.filter((w) => !!w.primary === primary).map((w) => byResource.get(w.resource)!.start());
    await Promise.all(start(false));
    // Ready only once rollouts know every consumer too: a Secret synced earlier would roll out to too few workloads.
    await Promise.all([...start(true), rollouts?.ready]);
    // Stopped before the first sync (a shutdown signal while the API server was unreachable): nothing runs.
    if (shuttingDown) return;
    informersReady = true;
    if (options.publish)
      publisher = startClusterPublisher(options.publish, {
        custom,
        identity,
        externalSecrets: () => [...esInformer.list()] as unknown as ExternalSecret[],
        store: getStore,
        // Without rollouts the operator keeps no consumer index: the summary then lists no workloads.
        consumersOf: (namespace, secret) => rollouts?.consumers.consumersOf(namespace, secret),
        log,
      });
    log(`controllers running (${scoped ? `namespace ${scoped}` : 'all namespaces'})`);
  }

  const identity = options.leaderElection?.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
  const elector = options.leaderElection
    ? new LeaderElector(kc, { ...options.leaderElection, identity, log })
    : undefined;
  const readiness = (): Readiness => {
    if (shuttingDown) return { ready: false, reasons: ['shutting down'] };
    if (elector && !elector.isLeader) return { ready: true, reasons: [] };
    const informers = health.readiness();
    if (!informers.ready || informersReady) return informers;
    return { ready: false, reasons: ['waiting for the rollout engine to list the workloads'] };
  };
  const operator: Operator = {
    metrics,
    readiness,
    ready: () => readiness().ready,
    isLeader: () => (elector ? elector.isLeader : true),
    done,
    shutdown() {
      shuttingDown ??= (async () => {
        log('shutting down');
        clearInterval(gauge);
        await publisher?.stop();
        await Promise.allSettled(informers.map((i) => i.stop()));
        await queue.shutdown();
        await rollouts?.stop();
        await clients.close();
        if (elector) await elector.release();
        metrics.leader.set(0);
        resolveDone();
      })();
      return shuttingDown;
    },
  };

  if (elector) {
    log(
      `waiting for the leader lease ${options.leaderElection!.namespace}/${options.leaderElection!.name} as ${identity}`,
    );
    void elector
      .acquire(() => {
        // Another replica may already act: stop at once (client-go exits the process here too).
        metrics.leader.set(0);
        void operator.shutdown();
      })
      .then(async () => {
        metrics.leader.set(1);
        await runControllers();
      })
      .catch(() => {});
  } else {
    metrics.leader.set(1);
    const running = runControllers();
    if (options.awaitSync === false)
      running.catch((err: unknown) => log(`controllers failed to start: ${(err as Error).message}`));
    else await running;
  }
  return operator;
}
