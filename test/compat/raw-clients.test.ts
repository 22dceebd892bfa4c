import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../support/server-process.js';
import {
  ENVELOPE,
  KV2_METADATA,
  KV2_VERSION_METADATA,
  MOUNT_ENTRY,
  SYS_HEALTH,
  SYS_SEAL_STATUS,
  TOKEN_AUTH,
  TOKEN_LOOKUP,
  expectDocumented,
  expectEnvelopeWithData,
} from './documented.js';
import { SHAPES, type Shape } from './wire-clients.js';
import { wireSession } from './wire-session.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * Issue 15's compatibility suite, raw half: every endpoint Strongroom shares with Vault, driven by requests shaped as
 * the `vault` CLI and Python's `hvac` send them, with status codes, headers and bodies compared with Vault's
 * documented responses. Each client shape works in its own paths, so the two runs cannot see each other's data.
 */
describe.each(SHAPES)('Vault API as the %s client sends it (real server)', (shape: Shape) => {
  let server: StartedServer;
  const { call, root, ok, failed } = wireSession(shape, () => server);

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sys/health, sys/seal-status and sys/leader answer unauthenticated with the documented fields', async () => {
    const health = await call({ method: 'GET', path: 'sys/health' });
    ok(health);
    expectDocumented(health.body, SYS_HEALTH);
    expect(health.body).toMatchObject({ initialized: true, sealed: false, standby: false });
    const seal = await call({ method: 'GET', path: 'sys/seal-status' });
    ok(seal);
    expectDocumented(seal.body, SYS_SEAL_STATUS);
    expect(seal.body.sealed).toBe(false);
  });

  it('KV v2: write, read, metadata, list, soft delete, undelete, destroy and check-and-set', async () => {
    const base = `secret/data/${shape}/db`;
    const written = await root('POST', base, { data: { username: 'app', password: 'pw-1' } });
    ok(written);
    expectEnvelopeWithData(written.body, KV2_VERSION_METADATA);
    expect(written.body.data.version).toBe(1);

    const read = await root('GET', base);
    ok(read);
    expectEnvelopeWithData(read.body, { data: 'object', metadata: KV2_VERSION_METADATA });
    expect(read.body.data.data).toEqual({ username: 'app', password: 'pw-1' });
    expect(read.body.mount_type).toBe('kv');

    const casMismatch = await root('POST', base, { options: { cas: 0 }, data: { password: 'pw-x' } });
    failed(casMismatch, 400, 'check-and-set parameter did not match the current version');
    ok(await root('POST', base, { options: { cas: 1 }, data: { username: 'app', password: 'pw-2' } }));

    const metadata = await root('GET', `secret/metadata/${shape}/db`);
    ok(metadata);
    expectEnvelopeWithData(metadata.body, KV2_METADATA);
    expect(metadata.body.data.current_version).toBe(2);
    expectDocumented(metadata.body.data.versions['1'], {
      created_time: 'string',
      deletion_time: 'string',
      destroyed: 'boolean',
    });

    const list = await root('LIST', `secret/metadata/${shape}`);
    ok(list);
    expectEnvelopeWithData(list.body, { keys: ['string'] });
    expect(list.body.data.keys).toEqual(['db']);

    ok(await root('DELETE', base), 204);
    const deleted = await root('GET', base);
    // Vault answers a read of a deleted version 404 with the version's metadata in `data` (deletion_time set).
    expect(deleted.status).toBe(404);
    expect(deleted.body.data.metadata.deletion_time).not.toBe('');
    ok(await root('POST', `secret/undelete/${shape}/db`, { versions: [2] }), 204);
    expect((await root('GET', base)).body.data.data.password).toBe('pw-2');
    ok(await root('POST', `secret/destroy/${shape}/db`, { versions: [1] }), 204);
    const v1 = await root('GET', `${base}?version=1`);
    expect(v1.status).toBe(404);
    expect(v1.body.data.metadata.destroyed).toBe(true);
  });

  it('an empty LIST and an unknown path are 404 in the shapes both clients expect', async () => {
    const empty = await root('LIST', `secret/metadata/${shape}-nothing-here`);
    expect(empty.status).toBe(404);
    expect(empty.contentType).toBe('application/json');
    expect(empty.body).toEqual({ errors: [] });
    const missing = await root('GET', `secret/data/${shape}-never-written`);
    expect(missing.status).toBe(404);
    expect(missing.exception).toBe(shape === 'hvac' ? 'InvalidPath' : '404');
    const noRoute = await root('GET', `nowhere-mounted/${shape}`);
    failed(noRoute, 404, 'no handler for route');
  });

  it("errors carry Vault's list in exactly application/json, so hvac raises with the message", async () => {
    const denied = await call({ method: 'GET', path: `secret/data/${shape}/db`, token: 'hvs.not-a-real-token' });
    failed(denied, 403, 'permission denied');
    expect(denied.exception).toBe(shape === 'hvac' ? 'Forbidden' : '403');
    const badJson = await call({
      method: 'POST',
      path: `secret/data/${shape}/x`,
      token: server.rootToken,
      body: { data: 'not an object' },
    });
    failed(badJson, 400);
    expect(badJson.errors.length).toBeGreaterThan(0);
    expect(badJson.exception).toBe(shape === 'hvac' ? 'InvalidRequest' : '400');
  });

  it('KV v1: mount, write, read (ttl in lease_duration), list, upgrade to v2 through tune, read version 1', async () => {
    const mount = `kv1-${shape}`;
    ok(await root('POST', `sys/mounts/${mount}`, { type: 'kv', options: { version: '1' } }), 204);
    const ui = await root('GET', `sys/internal/ui/mounts/${mount}`);
    ok(ui);
    expect(ui.body.data.options.version).toBe('1');
    ok(await root('POST', `${mount}/app/config`, { url: 'https://example.test', ttl: '1h' }), 204);
    const read = await root('GET', `${mount}/app/config`);
    ok(read);
    expectDocumented(read.body, ENVELOPE);
    expect(read.body.data).toEqual({ url: 'https://example.test', ttl: '1h' });
    expect(read.body.lease_duration).toBe(3600);
    const list = await root('LIST', `${mount}/app`);
    ok(list);
    expect(list.body.data.keys).toEqual(['config']);

    // Vault answers an upgrade with 200 and a warning that the mount is being upgraded.
    const tuned = await root('POST', `sys/mounts/${mount}/tune`, { options: { version: '2' } });
    ok(tuned);
    expect(tuned.body.warnings.join(' ')).toContain('Upgrading');
    const upgraded = await root('GET', `${mount}/data/app/config?version=1`);
    ok(upgraded);
    expect(upgraded.body.data.data).toEqual({ url: 'https://example.test', ttl: '1h' });
    expect(upgraded.body.data.metadata.version).toBe(1);
  });

  it('tokens: create, lookup-self (its own id), lookup, renew-self, roles, create against a role, revoke', async () => {
    const created = await root('POST', 'auth/token/create', {
      policies: ['default'],
      ttl: '1h',
      meta: { team: shape },
    });
    ok(created);
    expectDocumented(created.body, ENVELOPE);
    expectDocumented(created.body.auth, TOKEN_AUTH);
    const token = created.body.auth.client_token as string;

    const self = await call({ method: 'GET', path: 'auth/token/lookup-self', token });
    ok(self);
    expectEnvelopeWithData(self.body, TOKEN_LOOKUP);
    expect(self.body.data.id).toBe(token);
    expect(self.body.data.meta).toEqual({ team: shape });
    expect(self.body.data.period ?? null).toBeNull();

    const looked = await root('POST', 'auth/token/lookup', { token });
    ok(looked);
    expect(looked.body.data.accessor).toBe(created.body.auth.accessor);

    const renewed = await call({ method: 'POST', path: 'auth/token/renew-self', token, body: { increment: '30m' } });
    ok(renewed);
    expect(renewed.body.auth.lease_duration).toBeLessThanOrEqual(1800);

    ok(
      await root('POST', `auth/token/roles/${shape}-ci`, {
        allowed_policies: ['default'],
        orphan: true,
        token_period: '1h',
      }),
      204,
    );
    const role = await root('GET', `auth/token/roles/${shape}-ci`);
    ok(role);
    expect(role.body.data).toMatchObject({ name: `${shape}-ci`, orphan: true, token_period: 3600 });
    const roles = await root('LIST', 'auth/token/roles');
    expect(roles.body.data.keys).toContain(`${shape}-ci`);
    const fromRole = await root('POST', `auth/token/create/${shape}-ci`, {});
    ok(fromRole);
    expect(fromRole.body.auth.orphan).toBe(true);

    ok(await root('POST', 'auth/token/revoke', { token }), 204);
    failed(await call({ method: 'GET', path: 'auth/token/lookup-self', token }), 403, 'permission denied');
  });

  it('transit: encrypt/decrypt, sign/verify with ed25519, export only an exportable key', async () => {
    // Since Vault 1.13 creating a key answers with the key as a read would.
    const createdKey = await root('POST', `transit/keys/${shape}-aes`, {});
    ok(createdKey);
    expectEnvelopeWithData(createdKey.body, {
      name: 'string',
      type: 'string',
      latest_version: 'number',
      keys: 'object',
    });
    expect(createdKey.body.data.type).toBe('aes256-gcm96');
    const encrypted = await root('POST', `transit/encrypt/${shape}-aes`, { plaintext: b64('card 4111') });
    ok(encrypted);
    expectEnvelopeWithData(encrypted.body, { ciphertext: 'string', key_version: 'number' });
    const decrypted = await root('POST', `transit/decrypt/${shape}-aes`, {
      ciphertext: encrypted.body.data.ciphertext,
    });
    ok(decrypted);
    expect(Buffer.from(decrypted.body.data.plaintext, 'base64').toString()).toBe('card 4111');

    ok(await root('POST', `transit/keys/${shape}-signer`, { type: 'ed25519' }));
    const signed = await root('POST', `transit/sign/${shape}-signer`, { input: b64('release') });
    ok(signed);
    expectEnvelopeWithData(signed.body, { signature: 'string', key_version: 'number' });
    const verified = await root('POST', `transit/verify/${shape}-signer`, {
      input: b64('release'),
      signature: signed.body.data.signature,
    });
    expect(verified.body.data.valid).toBe(true);

    failed(await root('GET', `transit/export/encryption-key/${shape}-aes`), 400, 'exportable');
    ok(await root('POST', `transit/keys/${shape}-portable`, { exportable: true }));
    const exported = await root('GET', `transit/export/encryption-key/${shape}-portable`);
    ok(exported);
    expectEnvelopeWithData(exported.body, { name: 'string', type: 'string', keys: 'object' });
  });

  it('sys/mounts and sys/policy: list, enable, read, disable with the documented entries', async () => {
    const mounts = await root('GET', 'sys/mounts');
    ok(mounts);
    expectDocumented(mounts.body.data['secret/'], MOUNT_ENTRY);
    // Vault repeats the mount table at the top level for older clients.
    expectDocumented(mounts.body['secret/'], MOUNT_ENTRY);
    failed(await root('POST', 'sys/mounts/secret', { type: 'kv' }), 400, 'path is already in use at secret/');

    ok(
      await root('PUT', `sys/policies/acl/${shape}-reader`, {
        policy: `path "secret/data/${shape}/*" { capabilities = ["read"] }`,
      }),
      204,
    );
    const policy = await root('GET', `sys/policies/acl/${shape}-reader`);
    ok(policy);
    expectEnvelopeWithData(policy.body, { name: 'string', policy: 'string' });
    const caps = await root('POST', 'sys/capabilities', {
      token: server.rootToken,
      paths: [`secret/data/${shape}/db`],
    });
    ok(caps);
    expect(caps.body.data.capabilities).toEqual(['root']);
    failed(await root('POST', 'sys/audit-hash/not-enabled', { input: 'x' }), 400);
  });
});
