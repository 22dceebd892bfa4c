/** Shared setup for the double's tests: a server, a kubeconfig file for it, and real client-node API objects. */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import {
  createKubeApiServer,
  writeKubeconfig,
  type KubeApiServer,
  type KubeApiServerOptions,
} from '../support/kube-api/index.js';

/** Test assertions dig into arbitrary JSON (Status bodies, custom objects); one loose alias keeps that readable. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface Harness {
  api: KubeApiServer;
  kubeconfigPath: string;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
}

export async function startHarness(options: KubeApiServerOptions = {}, token?: string): Promise<Harness> {
  const api = await createKubeApiServer(options);
  const kubeconfigPath = await writeKubeconfig(api.url, token ? { token } : {});
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    api,
    kubeconfigPath,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

export { eventually } from '../support/eventually.js';

/** The HTTP status of a failed client-node call, and its parsed Status body. */
export async function failure(promise: Promise<unknown>): Promise<{ code: number; status: Record<string, Loose> }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    return { code: e.code ?? 0, status: body as Record<string, Loose> };
  }
  throw new Error('expected the call to fail');
}
