/**
 * An in-process Kubernetes API server double, served over real HTTP so that @kubernetes/client-node, kubectl and
 * the operator talk to it exactly as they would to a cluster. Each module explains the behaviour it copies; the entry is
 * `createKubeApiServer()`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addonCrds, type Addon } from './addons.js';
import { builtinTypes } from './builtins.js';
import { watchCrds } from './crds.js';
import { Registry, type Obj, type ResourceType } from './registry.js';
import { handleRequest, type AuthOptions } from './server.js';
import { ObjectStore, type DeleteOptions } from './store.js';
import { TokenAuthority, type IssueOptions, type ServiceAccountIssuer } from './tokens.js';
import { WorkloadSimulator, type RolloutOutcome, type WorkloadRef } from './workloads.js';

export {
  podTemplateHash,
  ROLLOUT_ANNOTATION,
  type RolloutOutcome,
  type WorkloadRef,
  type WorkloadKind,
} from './workloads.js';
export { writeKubeconfig, type KubeconfigOptions } from './kubeconfig.js';
export type { ServiceAccountIssuer } from './tokens.js';
export type { AuthOptions } from './server.js';
export type { Obj } from './registry.js';
export type { Addon } from './addons.js';

export interface KubeApiServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** When set, every request must carry a bearer token: one of `tokens`, or a service-account token issued here. */
  auth?: AuthOptions;
  /** Workload controller tick. Default 50 ms. */
  tickMs?: number;
  /** Compressed Deployment progress deadline, in controller time (ticks × tickMs, not the wall clock). Default 1000 ms. */
  progressDeadlineMs?: number;
  /** Watch history kept for resuming watches (events). Default 1000. */
  historyLimit?: number;
  /** How often watches that allow bookmarks get one. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Node names DaemonSets schedule onto and pods report. Default one node. */
  nodes?: string[];
  /** Service-account token issuer (`iss`), also the default audience. */
  issuer?: string;
  /** Delay before a deleted namespace's content is removed (the namespace controller runs in the background). Default 100 ms. */
  namespaceCleanupDelayMs?: number;
  /** Namespaces that exist from the start. Default: default, kube-system, kube-public, kube-node-lease. */
  namespaces?: string[];
  /**
   * Add-ons whose CustomResourceDefinitions are installed from the start, as their own installs would. Default
   * ['cert-manager']: the cluster `deploy/` is written for (its TLS comes from cert-manager); [] is a bare cluster.
   */
  addons?: Addon[];
  /** Sees every request as it arrives (benchmarks count API calls by verb and resource). */
  onRequest?: (method: string, url: string) => void;
}

export interface KubeApiServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  store: ObjectStore;
  registry: Registry;
  /** Service-account token issuer: issuer URL, JWKS and PEM public key, to configure Strongroom's Kubernetes auth. */
  serviceAccountIssuer: ServiceAccountIssuer;
  /** Reads an object directly (no HTTP). `resource` is a kind or plural: `Secret`, `deployments.apps`, ... */
  get(resource: string, namespace: string | undefined, name: string): Obj | undefined;
  list(resource: string, namespace?: string): Obj[];
  /** Writes directly (no HTTP): seed fixtures, play a controller. */
  create(resource: string, object: Obj): Obj;
  update(resource: string, object: Obj, options?: { subresource?: 'status' }): Obj;
  delete(resource: string, namespace: string | undefined, name: string, options?: DeleteOptions): Obj;
  /** Drops the watch history: watches resuming from older resourceVersions get a 410 Expired ERROR event. */
  compact(): void;
  /** Decides a workload's rollouts: all of them, one pod template (`templateHash`), or `'fail-next'`. */
  setRolloutOutcome(ref: WorkloadRef, outcome: RolloutOutcome | 'fail-next', options?: { templateHash?: string }): void;
  /** Runs one controller step now (tests that want to step deterministically). */
  tick(): void;
  /** Issues a service-account token without going through TokenRequest (any lifetime). */
  issueToken(namespace: string, serviceAccount: string, options?: IssueOptions): Promise<string>;
  close(): Promise<void>;
}

export async function createKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const registry = new Registry();
  for (const t of builtinTypes()) registry.add(t);
  const store = new ObjectStore(registry, options.historyLimit ?? 1000, options.namespaceCleanupDelayMs ?? 100);
  const tokens = await TokenAuthority.create(
    store,
    registry,
    options.issuer ?? 'https://kubernetes.default.svc.cluster.local',
  );
  const workloads = new WorkloadSimulator(store, registry, {
    tickMs: options.tickMs ?? 50,
    progressDeadlineMs: options.progressDeadlineMs ?? 1000,
    nodes: options.nodes ?? ['kube-api-double-node-1'],
  });
  const unsubscribers = [watchCrds(store, registry), createDefaultServiceAccounts(store, registry)];
  const resolve = (resource: string): ResourceType => registry.resolve(resource);
  for (const name of options.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    store.create(resolve('namespaces'), { metadata: { name } });
  }
  for (const addon of options.addons ?? ['cert-manager'])
    for (const crd of addonCrds(addon)) store.create(resolve('customresourcedefinitions'), crd);

  const watches = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    options.onRequest?.(req.method ?? '', req.url ?? '');
    void handleRequest(
      {
        store,
        registry,
        tokens,
        auth: options.auth,
        bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
        trackWatch: (close) => {
          watches.add(close);
          return () => watches.delete(close);
        },
      },
      req,
      res,
    );
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolvePromise());
  });
  const port = (server.address() as AddressInfo).port;
  workloads.start();

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    store,
    registry,
    serviceAccountIssuer: tokens.info,
    get: (resource, namespace, name) => store.get(resolve(resource), namespace, name),
    list: (resource, namespace) => store.list(resolve(resource), namespace),
    create: (resource, object) => store.create(resolve(resource), object),
    update: (resource, object, opts) => store.update(resolve(resource), object, opts ?? {}),
    delete: (resource, namespace, name, opts) => store.delete(resolve(resource), namespace, name, opts).object,
    compact: () => store.compact(),
    setRolloutOutcome: (ref, outcome, opts) => workloads.setRolloutOutcome(ref, outcome, opts?.templateHash),
    tick: () => workloads.tick(),
    issueToken: async (namespace, serviceAccount, opts) => (await tokens.issue(namespace, serviceAccount, opts)).token,
    close: async () => {
      workloads.stop();
      for (const unsubscribe of unsubscribers) unsubscribe();
      for (const close of [...watches]) close();
      server.closeAllConnections();
      await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
    },
  };
}

/** The service-account controller: every namespace gets a `default` ServiceAccount. */
function createDefaultServiceAccounts(store: ObjectStore, registry: Registry): () => void {
  const saType = registry.find('', 'v1', 'serviceaccounts')!;
  return store.subscribe((event) => {
    if (event.storageKey !== '/namespaces' || event.type !== 'ADDED') return;
    const namespace = (event.object.metadata as { name: string }).name;
    if (!store.get(saType, namespace, 'default'))
      store.create(saType, { metadata: { name: 'default', namespace } }, { system: true });
  });
}
