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
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.js';
import { pgAdminQuery, pgDropRoles } from '../../support/pg-login.js';
import { postgresSkipReason } from '../../support/postgres.js';
import {
  expectZeroFailures,
  startConsumer,
  startCredentialsBed,
  type Consumer,
  type CredentialsBed,
} from './pg-credentials.js';

const tag = randomBytes(3).toString('hex');
const rootUser = `sr_e2e_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const NS = 'payments';
const SECRET = 'pg-creds';

let bed: CredentialsBed;
let consumer: Consumer | undefined;

/** Every pod's database user must still exist and be valid by its VALID UNTIL. */
async function usersAlive(pods: { who: string; user: string }[]): Promise<string[]> {
  const alive = await pgAdminQuery<{ rolname: string }>(
    'select rolname from pg_roles where rolname = any($1) and coalesce(rolvaliduntil > now(), true)',
    [pods.map((p) => p.user)],
  );
  const names = new Set(alive.map((r) => r.rolname));
  return pods.filter((p) => !names.has(p.user)).map((p) => `${p.who}: its database user is gone`);
}

const roleExists = async (user: string) =>
  (await pgAdminQuery('select 1 from pg_roles where rolname = $1', [user])).length > 0;

describe.skipIf(postgresSkipReason !== undefined)('dynamic database credentials through the cluster', () => {
  beforeAll(async () => {
    bed = await startCredentialsBed({
      rootUser,
      rootPassword,
      config: { allowed_roles: 'orders', username_template: `{{ printf "v-e2e-${tag}-%s" (random 10) }}` },
      namespace: NS,
      app: 'orders',
      secret: SECRET,
    });
    await bed.vault('POST', 'database/roles/orders', {
      db_name: 'pg',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE postgres TO "{{name}}";`,
      default_ttl: '6s',
      max_ttl: '6s',
    });
    bed.api.create('vaultdynamicsecrets', {
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
  }, 90_000);

  afterAll(async () => {
    await consumer?.stop();
    await bed?.close();
    await pgDropRoles({ like: `v-e2e-${tag}-%`, roles: [rootUser] });
  });

  it('a consumer logging in every 50 ms sees zero failures across three rotations; old users are gone after each rollout', async () => {
    const externalSecret = {
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
    };
    bed.api.create('externalsecrets', externalSecret);
    const rolledOut = (generation: number) => () => bed.rolledOut('orders-db', generation);
    await eventually(rolledOut(1), 'generation 1 rolled out', 60_000);
    consumer = startConsumer(bed, NS, SECRET, usersAlive);
    for (const generation of [2, 3, 4]) {
      await eventually(rolledOut(generation), `generation ${generation} rolled out`, 60_000);
      const old = consumer.seen.get(`gen-${generation - 1}`)?.user;
      expect(old, `the consumer saw generation ${generation - 1}`).toBeDefined();
      // Revoked after the rollout and its grace period: the database user is dropped (not left to expire).
      await eventually(async () => !(await roleExists(old!)), `user of generation ${generation - 1} dropped`, 10_000);
    }
    await consumer.stop();
    // The ExternalSecret's status records the lease, never the password.
    expectZeroFailures(bed, consumer, externalSecret, /^database\/creds\/orders\//);
  }, 300_000);
});
