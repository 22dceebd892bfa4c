import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/server/config.js';
import { startServer, type RunningServer } from '../../../src/server/run.js';
import { api, type ApiResult } from './client.js';

function expectVaultError(result: ApiResult, status: number, message: string): void {
  expect(result.status).toBe(status);
  expect(result.headers.get('content-type')).toBe('application/json');
  expect(result.body).toEqual({ errors: [message] });
}

const DURATION = 'must be a duration such as "1h" or a number of seconds';

/**
 * The declared fields of approle, kubernetes and sys/auth over real HTTP: Vault's lenient forms are accepted (strings
 * for numbers and booleans, comma lists, legacy aliases), bad values get a 400 naming the field, and the refusals of
 * restrictions Strongroom would not enforce keep their words.
 */
describe('auth method fields (real server)', () => {
  let server: RunningServer;
  let dataDir: string;
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken!, body });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'strongroom-auth-fields-'));
    const config = loadConfig({ flags: { dev: true, dataDir, listen: '127.0.0.1:0', logLevel: 'silent' }, env: {} });
    server = await startServer(config, { log: () => undefined, warn: () => undefined });
    expect((await root('POST', 'sys/auth/fields-approle', { type: 'approle' })).status).toBe(204);
    expect((await root('POST', 'sys/auth/fields-k8s', { type: 'kubernetes' })).status).toBe(204);
  });
  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  describe('sys/auth', () => {
    it('enables with declared fields and refuses lease TTLs in config by their name inside config', async () => {
      expectVaultError(await root('POST', 'sys/auth/no-type', {}), 400, 'missing required field "type"');
      expectVaultError(
        await root('POST', 'sys/auth/bad-config', { type: 'approle', config: 'x' }),
        400,
        'field "config" must be a JSON object',
      );
      expectVaultError(
        await root('POST', 'sys/auth/bad-options', { type: 'approle', options: { a: 1 } }),
        400,
        'field "options" must be an object of strings',
      );
      expectVaultError(
        await root('POST', 'sys/auth/bad-ttl', { type: 'approle', config: { default_lease_ttl: 'soon' } }),
        400,
        `field "default_lease_ttl" ${DURATION}`,
      );
      expectVaultError(
        await root('POST', 'sys/auth/ttl', { type: 'approle', config: { max_lease_ttl: '1h' } }),
        400,
        'config.max_lease_ttl is not supported on auth mounts: it would not be enforced',
      );
      expect(
        (
          await root('POST', 'sys/auth/zero-ttl', {
            type: 'approle',
            config: { default_lease_ttl: '0s', max_lease_ttl: 0 },
          })
        ).status,
      ).toBe(204);
    });

    it('tunes at both places: -1 and 0 are the system default, a set lease TTL is refused, a bad one named', async () => {
      for (const path of ['sys/auth/fields-approle/tune', 'sys/mounts/auth/fields-approle/tune']) {
        expect(
          (await root('POST', path, { default_lease_ttl: -1, max_lease_ttl: '-1', description: 'tuned' })).status,
        ).toBe(204);
        expect((await root('POST', path, { default_lease_ttl: 0, max_lease_ttl: '0' })).status).toBe(204);
        expectVaultError(
          await root('POST', path, { default_lease_ttl: '2h' }),
          400,
          'default_lease_ttl is not supported on auth mounts: it would not be enforced',
        );
        expectVaultError(await root('POST', path, { max_lease_ttl: -5 }), 400, `field "max_lease_ttl" ${DURATION}`);
        expectVaultError(
          await root('POST', path, { options: ['a'] }),
          400,
          'field "options" must be an object of strings',
        );
      }
      expect((await root('GET', 'sys/auth/fields-approle/tune')).body.data.description).toBe('tuned');
    });
  });

  describe('approle', () => {
    it('takes strings for numbers, comma lists and legacy aliases; token_* names win over the old ones', async () => {
      const written = await root('POST', 'auth/fields-approle/role/lenient', {
        secret_id_num_uses: '3',
        secret_id_ttl: '10m',
        policies: 'old-a, old-b',
        token_ttl: '1h',
        max_ttl: 7200,
        period: '',
        bound_cidrs: '10.0.0.0/8,',
      });
      expect(written.status).toBe(204);
      expect((await root('GET', 'auth/fields-approle/role/lenient')).body.data).toMatchObject({
        secret_id_num_uses: 3,
        secret_id_ttl: 600,
        token_policies: ['old-a', 'old-b'],
        token_ttl: 3600,
        token_max_ttl: 7200,
        token_period: 0,
        token_bound_cidrs: ['10.0.0.0/8'],
      });
      await root('POST', 'auth/fields-approle/role/lenient', {
        token_policies: ['new'],
        policies: 'old',
        token_ttl: 60,
        ttl: 120,
      });
      expect((await root('GET', 'auth/fields-approle/role/lenient')).body.data).toMatchObject({
        token_policies: ['new'],
        token_ttl: 60,
        token_max_ttl: 7200,
      });
    });

    it('names the field at fault and keeps the refusal of unenforced restrictions', async () => {
      const role = 'auth/fields-approle/role/strict';
      expectVaultError(
        await root('POST', role, { secret_id_num_uses: -1 }),
        400,
        'field "secret_id_num_uses" must not be negative',
      );
      expectVaultError(await root('POST', role, { token_ttl: 'forever' }), 400, `field "token_ttl" ${DURATION}`);
      expectVaultError(
        await root('POST', role, { bind_secret_id: 'maybe' }),
        400,
        'field "bind_secret_id" must be a boolean',
      );
      expectVaultError(
        await root('POST', role, { token_policies: [1] }),
        400,
        'field "token_policies" must be a list of strings',
      );
      expectVaultError(
        await root('POST', role, { token_no_default_policy: 'true' }),
        400,
        'token_no_default_policy is not supported on this role: the restriction would not be enforced',
      );
      expect((await root('GET', role)).status).toBe(404);
    });

    it('reads secret-id metadata as a JSON string or an object, and refuses anything else by name', async () => {
      await root('POST', 'auth/fields-approle/role/meta', { token_policies: 'default' });
      const path = 'auth/fields-approle/role/meta/secret-id';
      expect((await root('POST', path, { metadata: { team: 'a' } })).status).toBe(200);
      expect((await root('POST', path, { metadata: 'null' })).status).toBe(200);
      expectVaultError(
        await root('POST', path, { metadata: '"text"' }),
        400,
        'field "metadata" must be an object of strings',
      );
      expectVaultError(
        await root('POST', path, { metadata: { n: 1 } }),
        400,
        'field "metadata" must be an object of strings',
      );
      expectVaultError(await root('POST', path, { num_uses: '-2' }), 400, 'field "num_uses" must not be negative');
      const created = await root('POST', path, { metadata: '{"team":"b"}', num_uses: '2', ttl: '5m' });
      expect(created.body.data).toMatchObject({ secret_id_num_uses: 2, secret_id_ttl: 300 });
      const looked = await root('POST', 'auth/fields-approle/role/meta/secret-id/lookup', {
        secret_id: created.body.data.secret_id,
      });
      expect(looked.body.data.metadata).toEqual({ team: 'b' });
    });

    it('logs in with string ids; a non-string secret_id fails as a wrong secret ID does, not as a field error', async () => {
      await root('POST', 'auth/fields-approle/role/login', { token_policies: 'default' });
      const roleId = (await root('GET', 'auth/fields-approle/role/login/role-id')).body.data.role_id as string;
      const secretId = (await root('POST', 'auth/fields-approle/role/login/secret-id')).body.data.secret_id as string;
      expectVaultError(
        await api(server.url, 'POST', 'auth/fields-approle/login', { body: { secret_id: secretId } }),
        400,
        'missing required field "role_id"',
      );
      const wrong = await api(server.url, 'POST', 'auth/fields-approle/login', { body: { role_id: roleId } });
      const nonString = await api(server.url, 'POST', 'auth/fields-approle/login', {
        body: { role_id: roleId, secret_id: { value: secretId } },
      });
      expect(wrong.status).toBeGreaterThanOrEqual(400);
      expect(nonString.status).toBe(wrong.status);
      expect(nonString.body).toEqual(wrong.body);
      expect(nonString.text).not.toContain(secretId);
      const ok = await api(server.url, 'POST', 'auth/fields-approle/login', {
        body: { role_id: roleId, secret_id: secretId },
      });
      expect(ok.status).toBe(200);
    });
  });

  describe('kubernetes', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();

    it('takes pem_keys as a list or one PEM string, booleans as strings, and names a bad field', async () => {
      const config = 'auth/fields-k8s/config';
      expect(
        (
          await root('POST', config, {
            kubernetes_host: 'https://k8s.example',
            pem_keys: pem,
            disable_iss_validation: 'true',
          })
        ).status,
      ).toBe(204);
      expect((await root('GET', config)).body.data).toMatchObject({ pem_keys: [pem], disable_iss_validation: true });
      expectVaultError(
        await root('POST', config, { kubernetes_host: 'https://k8s.example', pem_keys: [pem, 7] }),
        400,
        'field "pem_keys" must be a list of PEM strings',
      );
      expectVaultError(
        await root('POST', config, { kubernetes_host: 'https://k8s.example', use_token_review: 'yes' }),
        400,
        'field "use_token_review" must be a boolean',
      );
      expectVaultError(
        await root('POST', config, { kubernetes_host: { url: 'x' } }),
        400,
        'field "kubernetes_host" must be a string',
      );
    });

    it('writes roles from declared fields and refuses what it would not enforce', async () => {
      const role = 'auth/fields-k8s/role/app';
      expect(
        (
          await root('POST', role, {
            bound_service_account_names: 'api, worker',
            bound_service_account_namespaces: ['prod'],
            ttl: '30m',
            policies: 'default',
          })
        ).status,
      ).toBe(204);
      expect((await root('GET', role)).body.data).toMatchObject({
        bound_service_account_names: ['api', 'worker'],
        bound_service_account_namespaces: ['prod'],
        token_ttl: 1800,
        ttl: 1800,
        token_policies: ['default'],
      });
      expectVaultError(
        await root('POST', role, { token_num_uses: '2' }),
        400,
        'token_num_uses is not supported on this role: the restriction would not be enforced',
      );
      expectVaultError(
        await root('POST', role, { token_num_uses: 'two' }),
        400,
        'field "token_num_uses" must be an integer',
      );
      expectVaultError(
        await root('POST', role, { bound_service_account_namespace_selector: '{"matchLabels":{"a":"b"}}' }),
        400,
        'bound_service_account_namespace_selector is not supported: list the namespaces in bound_service_account_namespaces',
      );
      expectVaultError(
        await api(server.url, 'POST', 'auth/fields-k8s/login', { body: { role: 'app' } }),
        400,
        'missing required field "jwt"',
      );
    });
  });
});
