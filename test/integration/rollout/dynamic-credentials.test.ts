/**
 * End to end: dynamic database credentials rotated through the cluster with zero failed logins. A real Strongroom
 * server process issues PostgreSQL users (database engine, 6 s leases that cannot be renewed), the operator (in
 * process, real Vault provider) maintains a Secret from a VaultDynamicSecret, rolls each new credential out through
 * the rollout engine to a Deployment in the API double, and revokes the previous lease after the rollout succeeded.
 *
 * A consumer logs into PostgreSQL every ~50 ms with whatever the Secret holds at that moment (as a pod re-reading its
 * mounted file would). It must never fail across three rotations, and each old database user must be gone once the
 * rollout that replaced it has succeeded. What the operator records (the lease in status, the generations it keeps in
 * the companion Secret) and what `strongroom consumers` shows of it are checked against the store's own lease.
 *
 * Failed rollouts and failed revocations: test/integration/generators/lifecycle.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companionName } from '../../../src/kubernetes/generators/companion.js';
import { eventually } from '../../support/eventually.js';
import { pgDropRoles } from '../../support/pg-login.js';
import { postgresSkipReason } from '../../support/postgres.js';
import {
  dynamicUsersAlive,
  expectZeroFailures,
  roleExists,
  startConsumer,
  startCredentialsBed,
  type Consumer,
  type CredentialsBed,
} from './pg-credentials.js';
import type { Loose } from './support.js';

const tag = randomBytes(3).toString('hex');
const rootUser = `sr_e2e_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const NS = 'payments';
const SECRET = 'pg-creds';

let bed: CredentialsBed;
let consumer: Consumer | undefined;
const credentials = () => (bed.api.get('externalsecrets', NS, 'orders-db') as Loose).status.credentials;

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
    // The status records the lease as the store issued it: 6 s, renewable as Vault's database leases are (though
    // never past max_ttl, here the same 6 s, so the operator replaces it rather than extend it).
    const first = credentials().current;
    expect(first.leases).toEqual([
      expect.objectContaining({
        generator: 'orders-db',
        leaseId: expect.stringMatching(/^database\/creds\/orders\//),
        leaseDuration: 6,
        renewable: true,
      }),
    ]);
    consumer = startConsumer(bed, NS, SECRET, dynamicUsersAlive);
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
    const status = credentials();
    expect(status.lastGeneration).toBeGreaterThanOrEqual(4);
    // The companion Secret keeps only the generations still alive (current, and previous until it is revoked).
    const held = Object.keys((bed.api.get('secrets', NS, companionName('orders-db')) as Loose).data);
    expect(held.length).toBeLessThanOrEqual(2);
    expect(held).toContain(`gen-${credentials().current.generation}`);
  }, 300_000);

  it('`strongroom consumers` shows the lease each workload runs on and when the store ends it', async () => {
    // Rotations go on meanwhile: checked against the generation the workload runs, not a status read before. That
    // lease lives until the next rollout succeeded (and its grace period passed); should that fall between the CLI's
    // read and our lookup, the pair is read again.
    const { orders, lease } = await eventually(async () => {
      const out = JSON.parse(await bed.cli('consumers', `${NS}/${SECRET}`, '-o', 'json'));
      const orders = out.consumers.find((c: Loose) => c.name === 'orders');
      const leaseId = orders?.leases?.[0]?.leaseId;
      const lease = leaseId && (await bed.vault('PUT', 'sys/leases/lookup', { lease_id: leaseId }));
      return lease && { orders, lease };
    }, 'a workload lease the store still holds');
    expect(orders.leases).toEqual([
      {
        generation: Number(orders.version.replace('gen-', '')),
        leaseId: expect.stringMatching(/^database\/creds\/orders\//),
        expireTime: expect.any(String),
      },
    ]);
    // The operator dates the lease from its own clock when the answer arrives: within a second of the store's.
    expect(Math.abs(Date.parse(orders.leases[0].expireTime) - Date.parse(lease.data.expire_time))).toBeLessThan(1000);
    expect(await bed.cli('consumers', `${NS}/${SECRET}`)).toMatch(
      /Lease[\s\S]*database\/creds\/orders\/[\s\S]*expires /,
    );
  }, 60_000);
});
