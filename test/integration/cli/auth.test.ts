import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, importPKCS8 } from 'jose';
import YAML from 'yaml';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api } from '../server/client.js';
import { bound, cli, json, ok } from './run.js';

let server: StartedServer;
let run: ReturnType<typeof bound>;
/** Each step spawns a Node process; a loaded machine needs time, not a retry. */
const SLOW = 240_000;
const dir = mkdtempSync(join(tmpdir(), 'strongroom-cli-auth-'));

beforeAll(async () => {
  server = await startServer();
  await enableAuthMethods(server, 'approle', 'kubernetes');
  run = bound(server.url, server.rootToken);
  expect((await run(['kv', 'put', 'secret/app/db', 'password=pw-1'])).code).toBe(0);
});
afterAll(async () => {
  await server?.stop();
});

describe('strongroom policy', () => {
  it(
    'writes from a file and from stdin, reads, lists, formats and deletes',
    async () => {
      const file = join(dir, 'app.hcl');
      writeFileSync(file, 'path "secret/data/app/*" { capabilities = ["read", "list"] }\n');
      ok(await run(['policy', 'write', 'app-read', file]));
      ok(
        await run(['policy', 'write', 'other', '-'], {
          input: '{"path": {"secret/data/other/*": {"capabilities": ["read"]}}}',
        }),
      );
      expect(json(await run(['policy', 'list', '-o', 'json']))).toEqual(
        expect.arrayContaining(['app-read', 'other', 'default', 'root']),
      );
      expect(ok(await run(['policy', 'read', 'app-read'])).stdout).toContain('secret/data/app/*');
      expect(YAML.parse(ok(await run(['policy', 'read', '-o', 'yaml', 'app-read'])).stdout)).toMatchObject({
        name: 'app-read',
      });
      ok(await run(['policy', 'delete', 'other']));
      expect(json(await run(['policy', 'list', '-o', 'json']))).not.toContain('other');

      const messy = join(dir, 'messy.hcl');
      writeFileSync(messy, 'path   "secret/data/x"   {\ncapabilities=["read"]\n}\n');
      const check = await cli(['policy', 'fmt', '--check', messy]);
      expect(check.code).toBe(1);
      ok(await cli(['policy', 'fmt', messy]));
      expect(readFileSync(messy, 'utf8')).toMatch(/^path "secret\/data\/x" \{\n\s+capabilities = \["read"\]\n\}\n$/);
      expect((await cli(['policy', 'fmt', '--check', messy])).code).toBe(0);

      const broken = join(dir, 'broken.hcl');
      writeFileSync(broken, 'path "x" { capabilities = ["read" }\n');
      const bad = await cli(['policy', 'fmt', broken]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^Error: .*broken\.hcl/);
    },
    SLOW,
  );
});

describe('strongroom token', () => {
  it(
    'creates a limited token, looks it up by token and accessor, renews and revokes it',
    async () => {
      ok(
        await run(['policy', 'write', 'reader', '-'], {
          input: 'path "secret/data/app/*" { capabilities = ["read"] }',
        }),
      );
      const auth = json<{
        client_token: string;
        accessor: string;
        policies: string[];
        num_uses: number;
        lease_duration: number;
      }>(await run(['token', 'create', '--policy', 'reader', '--ttl', '1h', '--use-limit', '5', '-o', 'json']));
      expect(auth.policies).toEqual(['default', 'reader'].sort());
      expect(auth.num_uses).toBe(5);
      expect(auth.lease_duration).toBeGreaterThan(3500);
      expect(auth.lease_duration).toBeLessThanOrEqual(3600);

      const byToken = json<Record<string, unknown>>(
        await run(['token', 'lookup', '-', '-o', 'json'], { input: `${auth.client_token}\n` }),
      );
      expect(byToken).toMatchObject({ accessor: auth.accessor, num_uses: 5 });
      expect(JSON.stringify(byToken)).not.toContain(auth.client_token);
      const byAccessor = json(await run(['token', 'lookup', '-accessor', auth.accessor, '-o', 'json']));
      expect(byAccessor).toMatchObject({ accessor: auth.accessor });
      expect(json(await run(['token', 'lookup', '--accessor', auth.accessor, '-o', 'json']))).toMatchObject({
        accessor: auth.accessor,
      });
      const self = json(await run(['token', 'lookup', '-o', 'json'], { env: { STRONGROOM_TOKEN: auth.client_token } }));
      expect(self).toMatchObject({ accessor: auth.accessor, policies: ['default', 'reader'] });

      const renewed = json<{ accessor: string }>(
        await run(['token', 'renew', '--accessor', auth.accessor, '--increment', '30m', '-o', 'json']),
      );
      expect(renewed.accessor).toBe(auth.accessor);

      const raw = ok(await run(['token', 'create', '--policy', 'reader', '--field', 'token'])).stdout;
      expect(raw).toMatch(/^srs\.\S+$/);
      const orphan = json<{ orphan: boolean; lease_duration: number }>(
        await run(['token', 'create', '--orphan', '--period', '2h', '-o', 'json']),
      );
      expect(orphan.orphan).toBe(true);

      ok(await run(['token', 'revoke', '--accessor', auth.accessor]));
      const after = await run(['kv', 'get', 'secret/app/db'], { env: { STRONGROOM_TOKEN: auth.client_token } });
      expect(after.code).toBe(1);
      ok(await run(['token', 'revoke', '-'], { input: raw }));
      expect((await api(server.url, 'GET', 'auth/token/lookup-self', { token: raw })).status).toBe(403);
    },
    SLOW,
  );

  it(
    'enforces the use limit it was asked for',
    async () => {
      const token = ok(
        await run(['token', 'create', '--policy', 'reader', '--use-limit', '2', '--field', 'token']),
      ).stdout;
      const as = (args: string[]) => run(args, { env: { STRONGROOM_TOKEN: token } });
      // Each kv get spends one use on the mount lookup and one on the read.
      expect((await as(['kv', 'get', '--field', 'password', 'secret/app/db'])).code).toBe(0);
      expect((await as(['kv', 'get', 'secret/app/db'])).code).toBe(1);
    },
    SLOW,
  );
});

describe('strongroom login', () => {
  it(
    'saves a token from stdin to ~/.strongroom/token with mode 0600 in a 0700 directory, used afterwards',
    async () => {
      const home = mkdtempSync(join(tmpdir(), 'strongroom-cli-login-'));
      const env = { HOME: home, STRONGROOM_ADDR: server.url };
      const login = await cli(['login', '-'], { env, input: `${server.rootToken}\n` });
      expect(login.code).toBe(0);
      expect(login.stdout).not.toContain(server.rootToken);
      const file = join(home, '.strongroom', 'token');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(home, '.strongroom')).mode & 0o777).toBe(0o700);
      expect(readFileSync(file, 'utf8').trim()).toBe(server.rootToken);
      // No STRONGROOM_TOKEN: the saved token is used.
      expect((await cli(['kv', 'get', '--field', 'password', 'secret/app/db'], { env })).stdout).toBe('pw-1');
      // VAULT_ADDR works as the fallback address; an explicit token beats the file.
      const vaultEnv = { HOME: home, VAULT_ADDR: server.url, STRONGROOM_ADDR: undefined };
      expect((await cli(['kv', 'get', '--field', 'password', 'secret/app/db'], { env: vaultEnv })).code).toBe(0);
      const wrong = await cli(['kv', 'get', 'secret/app/db'], { env: { ...vaultEnv, VAULT_TOKEN: 'srs.bogus' } });
      expect(wrong.code).toBe(1);
      expect(
        (
          await cli(['kv', 'get', '--address', server.url, '--token', server.rootToken, 'secret/app/db'], {
            env: { HOME: home },
          })
        ).code,
      ).toBe(0);

      const rejected = await cli(['login', '-'], { env, input: 'srs.not-valid\n' });
      expect(rejected.code).toBe(1);
      expect(rejected.stderr).toMatch(/^Error: the server rejected this token/);
      expect(readFileSync(file, 'utf8').trim()).toBe(server.rootToken);
      expect((await cli(['logout'], { env })).code).toBe(0);
      expect((await cli(['kv', 'get', 'secret/app/db'], { env })).code).toBe(1);
    },
    SLOW,
  );

  it(
    'logs in with AppRole (both --method and Vault -method= forms), secret_id from a file or stdin',
    async () => {
      const root = { token: server.rootToken };
      await api(server.url, 'POST', 'auth/approle/role/ci', { ...root, body: { token_policies: ['reader'] } });
      const roleId = (await api(server.url, 'GET', 'auth/approle/role/ci/role-id', root)).body.data.role_id as string;
      const secretId = (await api(server.url, 'POST', 'auth/approle/role/ci/secret-id', root)).body.data
        .secret_id as string;
      const secretFile = join(dir, 'secret-id');
      writeFileSync(secretFile, `${secretId}\n`);

      const home = mkdtempSync(join(tmpdir(), 'strongroom-cli-approle-'));
      const env = { HOME: home, STRONGROOM_ADDR: server.url };
      const viaFile = await cli(
        ['login', '-method=approle', `role_id=${roleId}`, `secret_id=@${secretFile}`, '-o', 'json'],
        { env },
      );
      expect(viaFile.stderr).toBe('');
      expect(JSON.parse(viaFile.stdout)).toMatchObject({ policies: expect.arrayContaining(['reader']) });
      expect(viaFile.stdout).not.toContain(secretId);
      expect(statSync(join(home, '.strongroom', 'token')).mode & 0o777).toBe(0o600);
      expect((await cli(['kv', 'get', '--field', 'password', 'secret/app/db'], { env })).stdout).toBe('pw-1');

      const secondId = (await api(server.url, 'POST', 'auth/approle/role/ci/secret-id', root)).body.data
        .secret_id as string;
      const viaStdin = await cli(
        ['login', '--method', 'approle', `role_id=${roleId}`, 'secret_id=-', '--no-store', '-o', 'json'],
        { env, input: secondId },
      );
      expect(viaStdin.code).toBe(0);
      expect(JSON.parse(viaStdin.stdout).client_token).toMatch(/^srs\./);

      const bad = await cli(['login', '-method=approle', `role_id=${roleId}`, 'secret_id=wrong-secret-value'], { env });
      expect(bad.code).toBe(1);
      expect(bad.stderr).not.toContain('wrong-secret-value');
      const unknown = await cli(['login', '-method=github', 'token=x'], { env });
      expect(unknown.code).toBe(2);
      const missing = await cli(['login', '-method=kubernetes', 'role=app'], { env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/jwt=/);
    },
    SLOW,
  );

  it(
    'logs in with a Kubernetes service-account JWT read from a file (jwt=@path)',
    async () => {
      const root = { token: server.rootToken };
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      await api(server.url, 'POST', 'auth/kubernetes/config', {
        ...root,
        body: { kubernetes_host: 'https://kubernetes.default.svc', pem_keys: [pem] },
      });
      await api(server.url, 'POST', 'auth/kubernetes/role/app', {
        ...root,
        body: {
          bound_service_account_names: ['api'],
          bound_service_account_namespaces: ['payments'],
          token_policies: ['reader'],
          token_ttl: '10m',
        },
      });
      const key = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
      const jwt = await new SignJWT({
        'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api', uid: 'uid-1' } },
      })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('kubernetes/serviceaccount')
        .setSubject('system:serviceaccount:payments:api')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
      const jwtFile = join(dir, 'sa-token');
      writeFileSync(jwtFile, jwt);
      const home = mkdtempSync(join(tmpdir(), 'strongroom-cli-k8s-'));
      const env = { HOME: home, STRONGROOM_ADDR: server.url };
      const login = await cli(['login', '-method=kubernetes', 'role=app', `jwt=@${jwtFile}`], { env });
      expect(login.stderr).toBe('');
      expect(login.code).toBe(0);
      expect(login.stdout).toContain('reader');
      expect(login.stdout).not.toContain(jwt);
      expect((await cli(['kv', 'get', '--field', 'password', 'secret/app/db'], { env })).stdout).toBe('pw-1');
    },
    SLOW,
  );
});
