import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcProviderDouble } from '../../support/oidc-provider.js';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { api } from '../server/client.js';
import { freePort, oidcLoginAsBrowser } from './oidc-browser.js';
import { cli } from './run.js';

/**
 * `strongroom login --method=oidc` end to end: the real binary listens on a loopback port, prints the URL, and this
 * test plays the browser (the provider double approves, the redirect lands on the CLI's listener). Then the saved
 * token reads a secret. `--method=jwt` logs in with a machine JWT from a file.
 */
let server: StartedServer;
let provider: OidcProviderDouble;
const SLOW = 120_000;
const SECRET_VALUE = 'team-secret-31e0';

beforeAll(async () => {
  provider = await startOidcProvider({
    user: { sub: 'u-7', claims: { email: 'carol@example.com', groups: ['platform'] } },
  });
  provider.addClient('strongroom-cli', {
    secret: 'cli-client-secret',
    redirectUris: ['http://localhost:8250/oidc/callback'],
  });
  server = await startServer();
  await enableAuthMethods(server, 'oidc', 'jwt');
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, ...(body !== undefined ? { body } : {}) });
  for (const [path, body] of [
    ['sys/policies/acl/team-read', { policy: 'path "secret/data/team/*" { capabilities = ["read"] }' }],
    ['secret/data/team/db', { data: { password: SECRET_VALUE } }],
    [
      'auth/oidc/config',
      {
        oidc_discovery_url: provider.issuer,
        oidc_client_id: 'strongroom-cli',
        oidc_client_secret: 'cli-client-secret',
      },
    ],
    [
      'auth/oidc/role/people',
      {
        user_claim: 'email',
        allowed_redirect_uris: 'http://localhost:8250/oidc/callback',
        token_policies: 'team-read',
      },
    ],
    ['auth/jwt/config', { jwks_url: provider.jwksUri, bound_issuer: provider.issuer }],
    [
      'auth/jwt/role/ci',
      { role_type: 'jwt', user_claim: 'sub', bound_audiences: 'strongroom', token_policies: 'team-read' },
    ],
  ] as const) {
    const res = await root('POST', path, body);
    expect(res.status, `${path}: ${res.text}`).toBeLessThan(300);
  }
}, SLOW);
afterAll(async () => {
  await server?.stop();
  await provider?.close();
});

function browserLogin(args: string[], home: string) {
  return oidcLoginAsBrowser(['--method=oidc', ...args], { HOME: home, STRONGROOM_ADDR: server.url });
}

describe('strongroom login --method=oidc', () => {
  it(
    'prints the URL, takes the callback on its loopback port, saves the token, and the token reads a secret',
    async () => {
      const home = mkdtempSync(join(tmpdir(), 'strongroom-oidc-home-'));
      const port = await freePort();
      const { result, page, status } = await browserLogin(
        ['role=people', `port=${port}`, 'listenaddress=127.0.0.1', 'skip_browser=true'],
        home,
      );
      expect(result.stderr).toContain(
        'Complete the login via your OIDC provider. Open the following link in your browser:',
      );
      expect(result.stderr).toContain(`redirect_uri=${encodeURIComponent(`http://localhost:${port}/oidc/callback`)}`);
      expect(status).toBe(200);
      expect(page).toContain('Signed in to Strongroom');
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('Success! You are now authenticated');
      expect(existsSync(join(home, '.strongroom', 'token'))).toBe(true);

      const read = await cli(['kv', 'get', '--field=password', 'secret/team/db'], {
        env: { HOME: home, STRONGROOM_ADDR: server.url },
      });
      expect(read.stderr).toBe('');
      expect(read.stdout.trim()).toBe(SECRET_VALUE);
    },
    SLOW,
  );

  it(
    'tells the browser and the terminal when the provider refuses',
    async () => {
      provider.failNextAuthorization('access_denied', 'the user declined');
      const home = mkdtempSync(join(tmpdir(), 'strongroom-oidc-home-'));
      const port = await freePort();
      const { result, page, status } = await browserLogin(
        ['role=people', `port=${port}`, 'listenaddress=127.0.0.1', 'skip_browser=true'],
        home,
      );
      expect(status).toBe(400);
      expect(page).toContain('Sign-in failed');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/the user declined/);
      expect(existsSync(join(home, '.strongroom', 'token'))).toBe(false);
    },
    SLOW,
  );

  it(
    'refuses a role whose redirect URIs do not include the callback',
    async () => {
      const port = await freePort();
      const r = await cli(['login', '--method=oidc', 'role=people', `port=${port}`, 'callbackhost=evil.example'], {
        env: { STRONGROOM_ADDR: server.url },
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /Unable to authorize role "people" with redirect_uri "http:\/\/evil\.example:\d+\/oidc\/callback"/,
      );
    },
    SLOW,
  );
});

describe('strongroom login --method=jwt', () => {
  it(
    'logs in with a JWT read from a file',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strongroom-jwt-'));
      const file = join(dir, 'token');
      writeFileSync(file, await provider.mint({ sub: 'pipeline-1', aud: 'strongroom' }));
      const r = await cli(['login', '--method=jwt', 'role=ci', `jwt=@${file}`, '--no-store', '-o', 'json'], {
        env: { STRONGROOM_ADDR: server.url },
      });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ policies: ['default', 'team-read'] });
    },
    SLOW,
  );
});
