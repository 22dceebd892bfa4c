/**
 * End to end: dynamic database credentials rotated through the cluster with zero failed logins. A real Strongroom
 * server process issues PostgreSQL users (database engine, 6 s leases that cannot be renewed), the operator (in
 * process, real Vault provider) maintains a Secret from a VaultDynamicSecret, rolls each new credential out through
 * the rollout engine to a Deployment in the API double, and revokes the previous lease after the rollout succeeded.
 *
 * A consumer logs into PostgreSQL every ~50 ms with whatever the Secret holds at that moment (as a pod re-reading its
 * mounted file would). It must never fail across three rotations, and each old database user must be gone once the
 * rollout that replaced it has succeeded.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCrds } from '../../../src/kubernetes/api/crds.js';
import { startOperator, type Operator } from '../../../src/kubernetes/controller/operator.js';
import { A_VERSION } from '../../../src/kubernetes/controller/target-secret.js';
import { versionAnnotation } from '../../../src/kubernetes/rollout/hash.js';
import { eventually } from '../../support/eventually.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../support/kube-api/index.js';
import { pgAdminQuery, pgCanLogin } from '../../support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const tag = randomBytes(3).toString('hex');
const rootUser = `sr_e2e_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const NS = 'payments';
const SECRET = 'pg-creds';

let api: KubeApiServer;
let store: StartedServer;
let operator: Operator;
let stopConsumer = false;
let consumer: Promise<void> | undefined;
const attempts: { version: string | undefined; ok: boolean }[] = [];
/** The database user each generation (gen-N) was seen with in the Secret. */
const users = new Map<string, string>();

const decode = (v: string | undefined) => (v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8'));
const es = () => api.get('externalsecrets', NS, 'orders-db') as Loose;

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

/** A real login, and the password still valid by the role's VALID UNTIL (trust auth would not check either). */
async function login(user: string, password: string): Promise<boolean> {
  if (!(await pgCanLogin(user, password))) return false;
  const rows = await pgAdminQuery<{ valid: boolean }>(
    'select coalesce(rolvaliduntil > now(), true) as valid from pg_roles where rolname = $1',
    [user],
  );
  return rows[0]?.valid === true;
}

async function consume(): Promise<void> {
  while (!stopConsumer) {
    const secret = api.get('secrets', NS, SECRET) as Loose;
    if (secret?.data?.username) {
      const user = decode(secret.data.username);
      const version = secret.metadata.annotations?.[A_VERSION];
      if (version) users.set(version, user);
      attempts.push({ version, ok: await login(user, decode(secret.data.password)) });
    }
    await checkPods();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Pods keep the credential they started with (env): every ready pod's generation (its pod template's rollout
 * annotation) must still have a live database user. This is what revoking only after the rollout guarantees.
 */
const podFailures: string[] = [];
async function checkPods(): Promise<void> {
  const running = (api.list('pods', NS) as Loose[]).filter((p) =>
    p.status?.conditions?.some((c: Loose) => c.type === 'Ready' && c.status === 'True'),
  );
  const wanted = new Map<string, string>();
  for (const pod of running) {
    const version = pod.metadata.annotations?.[versionAnnotation(SECRET)];
    const user = version ? users.get(version) : undefined;
    if (user) wanted.set(user, `pod ${pod.metadata.name} (${version})`);
  }
  if (wanted.size === 0) return;
  const alive = await pgAdminQuery<{ rolname: string }>(
    'select rolname from pg_roles where rolname = any($1) and coalesce(rolvaliduntil > now(), true)',
    [[...wanted.keys()]],
  );
  const names = new Set(alive.map((r) => r.rolname));
  for (const [user, who] of wanted) if (!names.has(user)) podFailures.push(`${who}: its database user is gone`);
}

const roleExists = async (user: string) =>
  (await pgAdminQuery('select 1 from pg_roles where rolname = $1', [user])).length > 0;

describe.skipIf(postgresSkipReason !== undefined)('dynamic database credentials through the cluster', () => {
  beforeAll(async () => {
    await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    store = await startServer();
    await vault('POST', 'sys/mounts/database', { type: 'database' });
    const pg = new URL(postgresAdminUrl!);
    await vault('POST', 'database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${pg.host}/postgres`,
      username: rootUser,
      password: rootPassword,
      allowed_roles: 'orders',
      username_template: `{{ printf "v-e2e-${tag}-%s" (random 10) }}`,
    });
    await vault('POST', 'database/roles/orders', {
      db_name: 'pg',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE postgres TO "{{name}}";`,
      default_ttl: '6s',
      max_ttl: '6s',
    });

    api = await createKubeApiServer({ tickMs: 10, progressDeadlineMs: 2000 });
    for (const crd of allCrds()) api.create('customresourcedefinitions', crd as Loose);
    const kc = new KubeConfig();
    kc.loadFromFile(await writeKubeconfig(api.url));
    operator = await startOperator({
      kubeConfig: kc,
      operatorNamespace: 'default',
      rollouts: { pollMs: 40 },
      log: () => undefined,
      readCacheTtlMs: 0,
    });
    api.create('namespaces', { metadata: { name: NS } });
    api.create('secrets', {
      metadata: { name: 'strongroom-token', namespace: NS },
      stringData: { token: store.rootToken },
    } as Loose);
    api.create('secretstores', {
      apiVersion: 'strongroom.io/v1',
      kind: 'SecretStore',
      metadata: { name: 'strongroom', namespace: NS },
      spec: {
        provider: {
          vault: { server: store.url, auth: { tokenSecretRef: { name: 'strongroom-token', key: 'token' } } },
        },
      },
    });
    api.create('vaultdynamicsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'VaultDynamicSecret',
      metadata: { name: 'orders-db', namespace: NS },
      // A new credential 4 s before the 6 s lease ends: the rollout has that long, even on a busy machine.
      spec: {
        provider: { name: 'strongroom' },
        path: 'database/creds/orders',
        renewBefore: '4s',
        revokeGracePeriod: '300ms',
      },
    });
    api.create('deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'orders', namespace: NS, labels: { app: 'orders' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'orders' } },
        template: {
          metadata: { labels: { app: 'orders' } },
          spec: { containers: [{ name: 'app', image: 'orders:1', envFrom: [{ secretRef: { name: SECRET } }] }] },
        },
      },
    });
  }, 90_000);

  afterAll(async () => {
    stopConsumer = true;
    await consumer;
    await operator?.shutdown();
    await store?.stop();
    await api?.close();
    const left = await pgAdminQuery<{ rolname: string }>('select rolname from pg_roles where rolname like $1', [
      `v-e2e-${tag}-%`,
    ]);
    for (const { rolname } of left)
      await pgAdminQuery(`DROP OWNED BY "${rolname}"; DROP ROLE "${rolname}"`).catch(() => undefined);
    await pgAdminQuery(`DROP ROLE IF EXISTS "${rootUser}"`).catch(() => undefined);
  });

  it('a consumer logging in every 50 ms sees zero failures across three rotations; old users are gone after each rollout', async () => {
    api.create('externalsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'orders-db', namespace: NS },
      spec: {
        secretStoreRef: { name: 'strongroom', kind: 'SecretStore' },
        refreshInterval: '1h',
        target: { name: SECRET },
        dataFrom: [
          {
            sourceRef: {
              generatorRef: { apiVersion: 'strongroom.io/v1', kind: 'VaultDynamicSecret', name: 'orders-db' },
            },
          },
        ],
        rollout: { strategy: 'Restart', healthTimeout: '30s' },
      },
    });
    const rolledOut = (generation: number) => () => {
      const r = es()?.status?.rollout;
      return r?.phase === 'Succeeded' && r.targetVersion === `gen-${generation}` ? r : undefined;
    };
    await eventually(rolledOut(1), 'generation 1 rolled out', 30_000);
    consumer = consume();
    for (const generation of [2, 3, 4]) {
      await eventually(rolledOut(generation), `generation ${generation} rolled out`, 30_000);
      const old = users.get(`gen-${generation - 1}`);
      expect(old, `the consumer saw generation ${generation - 1}`).toBeDefined();
      // Revoked after the rollout and its grace period: the database user is dropped (not left to expire).
      await eventually(async () => !(await roleExists(old!)), `user of generation ${generation - 1} dropped`, 10_000);
    }
    stopConsumer = true;
    await consumer;
    const failed = attempts.filter((a) => !a.ok);
    expect(failed).toEqual([]);
    expect(podFailures).toEqual([]);
    expect(attempts.length).toBeGreaterThan(50);
    expect(new Set(attempts.map((a) => a.version)).size).toBeGreaterThanOrEqual(3);
    // The ExternalSecret's status records the lease, never the password.
    const status = es().status;
    expect(status.credentials.current.leases[0].leaseId).toMatch(/^database\/creds\/orders\//);
    const secret = api.get('secrets', NS, SECRET) as Loose;
    expect(JSON.stringify(status)).not.toContain(decode(secret.data.password));
  }, 120_000);
});
