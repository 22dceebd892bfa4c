/**
 * Test bed for the end-to-end database credential tests (dynamic-credentials, static-credentials, and the generator
 * lifecycle's failure cases in test/integration/generators): a real Strongroom server process with the database
 * engine connected to the machine's PostgreSQL (directly, or through a TCP proxy the test can stop) as a dedicated
 * superuser (so rotate-root and cleanup never touch the server's own accounts), the Kubernetes API double with the
 * operator in process (real Vault provider), a namespace whose SecretStore `strongroom` points at the server, and a
 * Deployment that takes the target Secret as its environment.
 *
 * The consumer logs in every ~50 ms with whatever the Secret holds (as a pod re-reading its mounted file would) and
 * checks that every ready pod's generation still has a working credential.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { allCrds } from '../../../src/kubernetes/api/crds.js';
import { startOperator, type Operator } from '../../../src/kubernetes/controller/operator.js';
import { A_VERSION } from '../../../src/kubernetes/controller/target-secret.js';
import { versionAnnotation } from '../../../src/kubernetes/rollout/hash.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../support/kube-api/index.js';
import { pgAdminQuery, pgCanLogin } from '../../support/pg-login.js';
import { postgresAdminUrl } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { createStoreNamespace, type Loose } from './support.js';

export const decode = (v: string | undefined) => (v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8'));

/** A real login, and the password still valid by the role's VALID UNTIL (trust auth would not check either). */
export async function login(user: string, password: string): Promise<boolean> {
  if (!(await pgCanLogin(user, password))) return false;
  const rows = await pgAdminQuery<{ valid: boolean }>(
    'select coalesce(rolvaliduntil > now(), true) as valid from pg_roles where rolname = $1',
    [user],
  );
  return rows[0]?.valid === true;
}

export const roleExists = async (user: string) =>
  (await pgAdminQuery('select 1 from pg_roles where rolname = $1', [user])).length > 0;

/** A pod check for dynamic credentials: every pod's database user must still exist and be valid by its VALID UNTIL. */
export async function dynamicUsersAlive(pods: { who: string; user: string }[]): Promise<string[]> {
  const alive = await pgAdminQuery<{ rolname: string }>(
    'select rolname from pg_roles where rolname = any($1) and coalesce(rolvaliduntil > now(), true)',
    [pods.map((p) => p.user)],
  );
  const names = new Set(alive.map((r) => r.rolname));
  return pods.filter((p) => !names.has(p.user)).map((p) => `${p.who}: its database user is gone`);
}

const BIN = fileURLToPath(new URL('../../../bin/strongroom', import.meta.url));

export interface CredentialsBed {
  api: KubeApiServer;
  store: StartedServer;
  operator: Operator;
  kubeconfigPath: string;
  /** A root-token request to the store; throws on an error status. */
  vault(method: string, path: string, body?: unknown): Promise<Loose>;
  /** `strongroom <args>` (dist/: `npm run build` first) against the API double; its stdout, or throws. */
  cli(...args: string[]): Promise<string>;
  /** The ExternalSecret's latest rollout once it succeeded with generation `generation` (gen-N), else undefined. */
  rolledOut(externalSecret: string, generation: number): Loose;
  close(): Promise<void>;
}

export interface CredentialsBedOptions {
  /** The superuser the engine connects as; created here, dropped by the test. */
  rootUser: string;
  rootPassword: string;
  /** Written to `database/config/pg` beside the plugin, connection URL and root credentials. */
  config: Record<string, unknown>;
  namespace: string;
  /** The Deployment (and its app label and image) that consumes the target Secret. */
  app: string;
  secret: string;
  /** Where the engine reaches PostgreSQL (a TCP proxy a test can stop); the admin URL's host:port by default. */
  engineAddress?: string;
  /** The API double's progress deadline: how long a rollout the test made fail takes to fail (default 2 s). */
  progressDeadlineMs?: number;
}

export async function startCredentialsBed(options: CredentialsBedOptions): Promise<CredentialsBed> {
  const { rootUser, rootPassword, namespace: ns, app } = options;
  await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
  const store = await startServer();
  async function vault(method: string, path: string, body?: unknown): Promise<Loose> {
    const res = await fetch(`${store.url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': store.rootToken, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
  await vault('POST', 'sys/mounts/database', { type: 'database' });
  const pg = new URL(postgresAdminUrl!);
  await vault('POST', 'database/config/pg', {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${options.engineAddress ?? pg.host}/postgres`,
    username: rootUser,
    password: rootPassword,
    ...options.config,
  });

  const api = await createKubeApiServer({ tickMs: 10, progressDeadlineMs: options.progressDeadlineMs ?? 2000 });
  for (const crd of allCrds()) api.create('customresourcedefinitions', crd as Loose);
  const kc = new KubeConfig();
  const kubeconfigPath = await writeKubeconfig(api.url);
  kc.loadFromFile(kubeconfigPath);
  const operator = await startOperator({
    kubeConfig: kc,
    operatorNamespace: 'default',
    rollouts: { pollMs: 40 },
    log: () => undefined,
    readCacheTtlMs: 0,
  });
  createStoreNamespace(api, ns, { server: store.url, token: store.rootToken });
  api.create('deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace: ns, labels: { app } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: { containers: [{ name: 'app', image: `${app}:1`, envFrom: [{ secretRef: { name: options.secret } }] }] },
      },
    },
  });

  return {
    api,
    store,
    operator,
    kubeconfigPath,
    vault,
    cli: (...args) =>
      new Promise((resolve, reject) =>
        execFile(
          process.execPath,
          [BIN, ...args, '--kubeconfig', kubeconfigPath],
          { env: { ...process.env, NO_COLOR: '1' } },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
        ),
      ),
    rolledOut(externalSecret, generation) {
      const r = (api.get('externalsecrets', ns, externalSecret) as Loose)?.status?.rollout;
      return r?.phase === 'Succeeded' && r.targetVersion === `gen-${generation}` ? r : undefined;
    },
    async close() {
      await operator.shutdown();
      await store.stop();
      await api.close();
    },
  };
}

/** A credential a pod runs with: the generation its pod template was rolled out with, and that generation's values. */
export interface PodCredential {
  who: string;
  user: string;
  password: string;
}

export interface Consumer {
  attempts: { version: string | undefined; ok: boolean }[];
  /** The account and password each generation (gen-N) was seen with in the Secret. */
  seen: Map<string, { user: string; password: string }>;
  podFailures: string[];
  stop(): Promise<void>;
}

/**
 * Starts the consumer loop. `checkPods` gets the distinct credentials of the ready pods and returns a failure message
 * for each that no longer works (what "works" means differs: a dynamic user must still exist, a static account's
 * password must still log in). Pods keep the credential they started with (env), so this is what revoking only after
 * the rollout guarantees.
 */
export function startConsumer(
  bed: CredentialsBed,
  namespace: string,
  secretName: string,
  checkPods: (pods: PodCredential[]) => Promise<string[]>,
): Consumer {
  const { api } = bed;
  let stopped = false;
  const consumer: Consumer = {
    attempts: [],
    seen: new Map(),
    podFailures: [],
    async stop() {
      stopped = true;
      await loop;
    },
  };

  async function podCredentials(): Promise<PodCredential[]> {
    const running = (api.list('pods', namespace) as Loose[]).filter((p) =>
      p.status?.conditions?.some((c: Loose) => c.type === 'Ready' && c.status === 'True'),
    );
    const wanted = new Map<string, PodCredential>();
    for (const pod of running) {
      const version = pod.metadata.annotations?.[versionAnnotation(secretName)];
      const credential = version ? consumer.seen.get(version) : undefined;
      if (credential)
        wanted.set(`${credential.user}\0${credential.password}`, {
          ...credential,
          who: `pod ${pod.metadata.name} (${version})`,
        });
    }
    return [...wanted.values()];
  }

  async function run(): Promise<void> {
    while (!stopped) {
      const secret = api.get('secrets', namespace, secretName) as Loose;
      if (secret?.data?.username) {
        const user = decode(secret.data.username);
        const password = decode(secret.data.password);
        const version = secret.metadata.annotations?.[A_VERSION];
        if (version) consumer.seen.set(version, { user, password });
        consumer.attempts.push({ version, ok: await login(user, password) });
      }
      const pods = await podCredentials();
      if (pods.length > 0) consumer.podFailures.push(...(await checkPods(pods)));
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const loop = run();
  return consumer;
}

/**
 * After three rotations: no failed login by the consumer or any pod, several attempts with each of at least three
 * generations,
 * and the ExternalSecret's status names the lease (matching `leasePattern`) but never the password.
 */
export function expectZeroFailures(
  bed: CredentialsBed,
  consumer: Consumer,
  externalSecret: Loose,
  leasePattern: RegExp,
) {
  const { namespace, name } = externalSecret.metadata as { namespace: string; name: string };
  expect(consumer.attempts.filter((a) => !a.ok)).toEqual([]);
  expect(consumer.podFailures).toEqual([]);
  // Logging in all along: every generation it met was tried several times (counted per generation, not in total, so a
  // slow machine that fits fewer attempts into a rotation still proves the same thing).
  const perVersion = new Map<string, number>();
  for (const a of consumer.attempts) perVersion.set(String(a.version), (perVersion.get(String(a.version)) ?? 0) + 1);
  expect(perVersion.size).toBeGreaterThanOrEqual(3);
  // The newest generation was met just before the consumer stopped: every earlier one was used for a while.
  const earlier = [...perVersion].slice(0, -1);
  for (const [version, count] of earlier) expect(count, `attempts with ${version}`).toBeGreaterThanOrEqual(3);
  const status = (bed.api.get('externalsecrets', namespace, name) as Loose).status;
  expect(status.credentials.current.leases[0].leaseId).toMatch(leasePattern);
  const secret = bed.api.get('secrets', namespace, externalSecret.spec.target.name) as Loose;
  expect(JSON.stringify(status)).not.toContain(decode(secret.data.password));
}
