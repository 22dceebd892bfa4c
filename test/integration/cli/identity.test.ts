import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from '../server/client.js';
import { bound, cli, json, ok } from './run.js';

/**
 * `strongroom identity whoami` and `identity group create` through the real binary against a real server: a person
 * logs in with userpass, is given a team's policy by an internal group (no new token), and an external group is
 * mapped to an identity provider's group on the oidc mount without the caller looking up any accessor or id.
 */
let server: StartedServer;
const PASSWORD = 'correct horse battery staple';
const SLOW = 240_000;

interface WhoAmI {
  entity_id: string;
  entity_name: string;
  display_name: string;
  token_policies: string[];
  identity_policies: string[];
  aliases: Array<{ mount_path: string; mount_type: string; name: string; metadata: Record<string, string> }>;
  groups: Array<{ id: string; name: string; type: string }>;
}

beforeAll(async () => {
  server = await startServer();
  const root = { token: server.rootToken };
  await api(server.url, 'POST', 'sys/auth/userpass', { ...root, body: { type: 'userpass' } });
  await api(server.url, 'POST', 'sys/auth/oidc', { ...root, body: { type: 'oidc' } });
  await api(server.url, 'POST', 'sys/policies/acl/payments-writer', {
    ...root,
    body: { policy: 'path "secret/data/payments/*" { capabilities = ["create", "update", "read"] }' },
  });
  await api(server.url, 'POST', 'auth/userpass/users/alice', { ...root, body: { password: PASSWORD } });
});
afterAll(async () => {
  await server?.stop();
});

describe('strongroom identity', () => {
  it(
    'whoami shows the entity a login made; a group created by entity name grants its policy to the live token',
    async () => {
      const env = { HOME: mkdtempSync(join(tmpdir(), 'strongroom-cli-identity-')), STRONGROOM_ADDR: server.url };
      ok(await cli(['login', '--method=userpass', 'username=alice', 'password=-'], { env, input: `${PASSWORD}\n` }));

      const before = json<WhoAmI>(await cli(['identity', 'whoami', '-o', 'json'], { env }));
      expect(before.entity_id).not.toBe('');
      expect(before.display_name).toBe('userpass-alice');
      expect(before.aliases).toEqual([
        { mount_path: 'auth/userpass/', mount_type: 'userpass', name: 'alice', metadata: { username: 'alice' } },
      ]);
      expect(before.groups).toEqual([]);
      expect(before.identity_policies).toEqual([]);
      const write = await cli(['kv', 'put', 'secret/payments/stripe', 'api_key=k1'], { env });
      expect(write.code).not.toBe(0);
      expect(write.stderr).toMatch(/permission denied/);

      // The admin names the member by entity name, as whoami shows it.
      const admin = bound(server.url, server.rootToken);
      const created = json<{ id: string; type: string; member_entity_ids: string[] }>(
        await admin([
          'identity',
          'group',
          'create',
          '--policies=payments-writer',
          `--member-entities=${before.entity_name}`,
          'payments',
          '-o',
          'json',
        ]),
      );
      expect(created).toMatchObject({ type: 'internal', member_entity_ids: [before.entity_id] });

      // The person's own token may read its entity (the default policy), not the group: its id is shown.
      const after = json<WhoAmI>(await cli(['identity', 'whoami', '-o', 'json'], { env }));
      expect(after.groups).toEqual([{ id: created.id, name: '', type: '' }]);
      expect(after.identity_policies).toEqual(['payments-writer']);
      ok(await cli(['kv', 'put', 'secret/payments/stripe', 'api_key=k1'], { env }));

      const table = ok(await cli(['identity', 'whoami'], { env })).stdout;
      expect(table).toMatch(/identity_policies\W+payments-writer/);
      expect(table).toMatch(/auth\/userpass\/\W+userpass\W+alice\W+username=alice/);
    },
    SLOW,
  );

  it(
    'maps an external group to the identity provider group on a mount, finding the accessor itself',
    async () => {
      const admin = bound(server.url, server.rootToken);
      const created = json<{ id: string; alias: { id: string; name: string; mount_accessor: string } }>(
        await admin([
          'identity',
          'group',
          'create',
          '--policies=payments-writer',
          '--external',
          '--alias=payments-team',
          '--mount=oidc',
          'payments-sso',
          '-o',
          'json',
        ]),
      );
      const mounts = (await api(server.url, 'GET', 'sys/auth', { token: server.rootToken })).body.data;
      expect(created.alias.mount_accessor).toBe(mounts['oidc/'].accessor);
      const alias = await api(server.url, 'GET', `identity/group-alias/id/${created.alias.id}`, {
        token: server.rootToken,
      });
      expect(alias.body.data).toMatchObject({ name: 'payments-team', canonical_id: created.id });

      const noMount = await admin(['identity', 'group', 'create', '--external', '--alias=x', '--mount=nope', 'g']);
      expect(noMount.code).not.toBe(0);
      expect(noMount.stderr).toMatch(/no auth method is mounted at auth\/nope\//);
      const half = await admin(['identity', 'group', 'create', '--external', 'g']);
      expect(half.code).not.toBe(0);
      expect(half.stderr).toMatch(/needs --alias and --mount/);
    },
    SLOW,
  );
});
