import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api, vaultClient } from './client.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Issue 15, item 7: the full transit engine through a real server, with node-vault and raw requests. */
describe('transit engine (real server process)', () => {
  let server: StartedServer;
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, ...(body !== undefined ? { body } : {}) });

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('signs with ed25519 and verifies (node-vault), and node verifies with the public key from the key read', async () => {
    const vault = vaultClient(server.url, server.rootToken);
    await vault.write('transit/keys/release-signer', { type: 'ed25519' });
    const signed = await vault.write('transit/sign/release-signer', { input: b64('release v1.2.3') });
    expect(signed.data.signature).toMatch(/^vault:v1:/);
    expect(signed.data.key_version).toBe(1);
    const verified = await vault.write('transit/verify/release-signer', {
      input: b64('release v1.2.3'),
      signature: signed.data.signature,
    });
    expect(verified.data.valid).toBe(true);
    const forged = await vault.write('transit/verify/release-signer', {
      input: b64('release v6.6.6'),
      signature: signed.data.signature,
    });
    expect(forged.data.valid).toBe(false);

    const read = await vault.read('transit/keys/release-signer');
    expect(read.data).toMatchObject({ type: 'ed25519', supports_signing: true, exportable: false });
    const publicKey = read.data.keys['1'].public_key as string;
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey, 'base64').toString('base64url') },
      format: 'jwk',
    });
    expect(
      cryptoVerify(
        null,
        Buffer.from('release v1.2.3'),
        key,
        Buffer.from(signed.data.signature.split(':')[2], 'base64'),
      ),
    ).toBe(true);
  });

  it('exports only a key created exportable; export is authorized against its own path', async () => {
    expect((await root('POST', 'transit/keys/sealed-in', {})).status).toBe(200);
    expect((await root('POST', 'transit/keys/portable', { exportable: true })).status).toBe(200);
    const refused = await root('GET', 'transit/export/encryption-key/sealed-in');
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toBe('private key material is not exportable');
    const exported = await root('GET', 'transit/export/encryption-key/portable/1');
    expect(exported.status).toBe(200);
    expect(Buffer.from(exported.body.data.keys['1'], 'base64').length).toBe(32);
    expect((await root('GET', 'transit/export/bogus-key/portable')).status).toBe(400);

    // A token that may encrypt with the key may not export it: export answers to its own path only.
    expect(
      (
        await root('PUT', 'sys/policies/acl/encrypt-only', {
          policy:
            'path "transit/encrypt/portable" { capabilities = ["update"] }\npath "transit/decrypt/portable" { capabilities = ["update"] }',
        })
      ).status,
    ).toBe(204);
    const token = (await root('POST', 'auth/token/create', { policies: ['encrypt-only'], ttl: '1h' })).body.auth
      .client_token as string;
    expect(
      (await api(server.url, 'POST', 'transit/encrypt/portable', { token, body: { plaintext: b64('x') } })).status,
    ).toBe(200);
    expect((await api(server.url, 'GET', 'transit/export/encryption-key/portable', { token })).status).toBe(403);
    expect((await api(server.url, 'GET', 'transit/backup/portable', { token })).status).toBe(403);
  });

  it('refuses backup without allow_plaintext_backup, and backs up and restores with it', async () => {
    expect((await root('POST', 'transit/keys/no-backup', { exportable: true })).status).toBe(200);
    const refused = await root('GET', 'transit/backup/no-backup');
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toBe('plaintext backup is disallowed on the policy');
    expect(refused.text).not.toMatch(/"backup"/);

    expect(
      (
        await root('POST', 'transit/keys/with-backup', {
          exportable: true,
          allow_plaintext_backup: true,
          type: 'aes128-gcm96',
        })
      ).status,
    ).toBe(200);
    const ct = (await root('POST', 'transit/encrypt/with-backup', { plaintext: b64('kept') })).body.data
      .ciphertext as string;
    const backup = await root('GET', 'transit/backup/with-backup');
    expect(backup.status).toBe(200);
    expect((await root('POST', 'transit/restore/restored-copy', { backup: backup.body.data.backup })).status).toBe(204);
    const plain = await root('POST', 'transit/decrypt/restored-copy', { ciphertext: ct });
    expect(Buffer.from(plain.body.data.plaintext, 'base64').toString()).toBe('kept');
  });

  it('batch encrypt and decrypt report a bad item in its own entry and keep the good ones', async () => {
    const encrypted = await root('POST', 'transit/encrypt/batch-key', {
      batch_input: [
        { plaintext: b64('first'), reference: 'a' },
        { plaintext: 'not base64!', reference: 'b' },
        { plaintext: b64('third') },
      ],
    });
    expect(encrypted.status).toBe(400);
    const results = encrypted.body.data.batch_results as Array<Record<string, string>>;
    expect(results).toHaveLength(3);
    expect(results[0]).toMatchObject({ reference: 'a' });
    expect(results[0]!.ciphertext).toMatch(/^vault:v1:/);
    expect(results[1]).toMatchObject({ reference: 'b' });
    expect(results[1]!.error).toMatch(/not valid base64/);
    expect(results[1]!.ciphertext).toBeUndefined();

    const decrypted = await root('POST', 'transit/decrypt/batch-key', {
      batch_input: [
        { ciphertext: results[0]!.ciphertext },
        { ciphertext: 'vault:v1:garbage' },
        { ciphertext: results[2]!.ciphertext },
      ],
    });
    expect(decrypted.status).toBe(400);
    const plain = decrypted.body.data.batch_results as Array<Record<string, string>>;
    expect(Buffer.from(plain[0]!.plaintext!, 'base64').toString()).toBe('first');
    expect(plain[1]!.error).toMatch(/invalid ciphertext/);
    expect(Buffer.from(plain[2]!.plaintext!, 'base64').toString()).toBe('third');

    // Vault's partial_failure_response_code replaces the 400 when some items succeeded, and only then.
    const partial = await root('POST', 'transit/decrypt/batch-key', {
      partial_failure_response_code: 207,
      batch_input: [{ ciphertext: results[0]!.ciphertext }, { ciphertext: 'vault:v1:garbage' }],
    });
    expect(partial.status).toBe(207);
    const allBad = await root('POST', 'transit/decrypt/batch-key', {
      partial_failure_response_code: 207,
      batch_input: [{ ciphertext: 'nope' }],
    });
    expect(allBad.status).toBe(400);
    const nonce = await root('POST', 'transit/encrypt/batch-key', { plaintext: b64('x'), nonce: b64('123456789012') });
    expect(nonce.status).toBe(400);
    expect(nonce.body.errors[0]).toBe('provided nonce not allowed for this key');
  });

  it('serves hmac, hash, random, datakey and batch sign with Vault shapes; BYOK import is a clear 400', async () => {
    expect((await root('POST', 'transit/keys/mac', { type: 'hmac', key_size: 48 })).status).toBe(200);
    const mac = await root('POST', 'transit/hmac/mac/sha2-512', { input: b64('m') });
    expect(mac.body.data.hmac).toMatch(/^vault:v1:/);
    expect(
      (await root('POST', 'transit/verify/mac/sha2-512', { input: b64('m'), hmac: mac.body.data.hmac })).body.data
        .valid,
    ).toBe(true);
    const hash = await root('POST', 'transit/hash/sha3-256', { input: b64('abc'), format: 'hex' });
    expect(hash.body.data.sum).toBe('3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532');
    const random = await root('POST', 'transit/random/16', { format: 'hex' });
    expect(random.body.data.random_bytes).toMatch(/^[0-9a-f]{32}$/);
    expect((await root('POST', 'transit/random/0', {})).status).toBe(400);
    expect((await root('POST', 'transit/keys/dk', { type: 'chacha20-poly1305' })).status).toBe(200);
    const datakey = await root('POST', 'transit/datakey/wrapped/dk', { bits: 512 });
    expect(datakey.status).toBe(200);
    expect(datakey.body.data.plaintext).toBeUndefined();
    expect(datakey.body.data.ciphertext).toMatch(/^vault:v1:/);

    expect((await root('POST', 'transit/keys/ec', { type: 'ecdsa-p256' })).status).toBe(200);
    const signed = await root('POST', 'transit/sign/ec', {
      batch_input: [{ input: b64('one') }, { input: b64('two') }],
      marshaling_algorithm: 'jws',
    });
    expect(signed.status).toBe(200);
    const sigs = signed.body.data.batch_results as Array<{ signature: string }>;
    const verified = await root('POST', 'transit/verify/ec', {
      marshaling_algorithm: 'jws',
      batch_input: [
        { input: b64('one'), signature: sigs[0]!.signature },
        { input: b64('one'), signature: sigs[1]!.signature },
      ],
    });
    expect(verified.body.data.batch_results.map((r: { valid: boolean }) => r.valid)).toEqual([true, false]);
    // As Vault: sign and verify batches answer 200 and carry a bad item's error in its own entry.
    const mixed = await root('POST', 'transit/sign/ec', {
      batch_input: [{ input: b64('ok') }, { input: 'not base64!' }],
    });
    expect(mixed.status).toBe(200);
    expect(mixed.body.data.batch_results[0].signature).toMatch(/^vault:v1:/);
    expect(mixed.body.data.batch_results[1].error).toMatch(/not valid base64/);

    // Config in Vault's forms: durations as "1h", booleans as strings; read back as seconds.
    expect(
      (await root('POST', 'transit/keys/dk/config', { auto_rotate_period: '1h', deletion_allowed: 'true' })).status,
    ).toBe(200);
    const dk = await root('GET', 'transit/keys/dk');
    expect(dk.body.data).toMatchObject({
      auto_rotate_period: 3600,
      deletion_allowed: true,
      type: 'chacha20-poly1305',
      supports_encryption: true,
    });
    expect((await root('POST', 'transit/keys/dk/config', { auto_rotate_period: '5m' })).status).toBe(400);
    const rsa = await root('POST', 'transit/keys/rsa', { type: 'rsa-2048' });
    expect(rsa.body.data.keys['1'].public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect((await root('DELETE', 'transit/keys/dk')).status).toBe(204);
    expect((await root('DELETE', 'transit/keys/rsa')).status).toBe(400);

    const importing = await root('POST', 'transit/keys/byok/import', { ciphertext: 'x' });
    expect(importing.status).toBe(400);
    expect(importing.body.errors[0]).toMatch(/not supported/);
  });

  it('config/keys disable_upsert: encrypting with a missing key creates it until upsert is disabled', async () => {
    await root('POST', 'sys/mounts/transit-noupsert', { type: 'transit' });
    expect((await root('GET', 'transit-noupsert/config/keys')).body.data).toEqual({ disable_upsert: false });
    expect((await root('POST', 'transit-noupsert/encrypt/made-on-demand', { plaintext: b64('x') })).status).toBe(200);
    expect((await root('GET', 'transit-noupsert/keys/made-on-demand')).status).toBe(200);

    const set = await root('POST', 'transit-noupsert/config/keys', { disable_upsert: 'true' });
    expect(set.body.data).toEqual({ disable_upsert: true });
    const refused = await root('POST', 'transit-noupsert/encrypt/never-made', { plaintext: b64('x') });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual(['encryption key not found']);
    expect((await root('GET', 'transit-noupsert/keys/never-made')).status).toBe(404);
    // An existing key still encrypts; the setting belongs to this mount only.
    expect((await root('POST', 'transit-noupsert/encrypt/made-on-demand', { plaintext: b64('x') })).status).toBe(200);
    expect((await root('GET', 'transit/config/keys')).body.data).toEqual({ disable_upsert: false });
  });

  it("a derived ed25519 key read with a context shows that context's public key, which verifies its signatures", async () => {
    await root('POST', 'transit/keys/per-tenant', { type: 'ed25519', derived: true });
    const context = b64('tenant-42');
    const signed = await root('POST', 'transit/sign/per-tenant', { input: b64('invoice 7'), context });
    expect(signed.status).toBe(200);
    expect((await root('GET', 'transit/keys/per-tenant')).body.data.keys['1'].public_key).toBe('');
    const read = await root('GET', `transit/keys/per-tenant?context=${encodeURIComponent(context)}`);
    const publicKey = read.body.data.keys['1'].public_key as string;
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey, 'base64').toString('base64url') },
      format: 'jwk',
    });
    const signature = Buffer.from((signed.body.data.signature as string).split(':')[2]!, 'base64');
    expect(cryptoVerify(null, Buffer.from('invoice 7'), key, signature)).toBe(true);
    // Another context's key does not verify it.
    const other = await root('GET', `transit/keys/per-tenant?context=${encodeURIComponent(b64('tenant-43'))}`);
    expect(other.body.data.keys['1'].public_key).not.toBe(publicKey);
    // A key that is not derived takes no context.
    await root('POST', 'transit/keys/plain-signer', { type: 'ed25519' });
    expect((await root('GET', `transit/keys/plain-signer?context=${encodeURIComponent(context)}`)).status).toBe(200);
  });
});
