import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { approveInBrowser, startOidcProvider, type OidcProviderDouble } from '../../support/oidc-provider.js';
import { api, type ApiResult } from './client.js';

/**
 * Vault's JWT/OIDC auth method through a real server against the OIDC provider double: machine JWTs at
 * auth/jwt/login (CI OIDC tokens) and the browser's authorization-code flow at auth/oidc/oidc/*.
 */
let server: StartedServer;
let provider: OidcProviderDouble;
const CLIENT_SECRET = 'client-secret-7f3a9c';
const CALLBACK = 'http://localhost:8250/oidc/callback';

const root = (method: string, path: string, body?: unknown) =>
  api(server.url, method, path, { token: server.rootToken, ...(body !== undefined ? { body } : {}) });

/**
 * Unauthenticated calls (logins) come from a loopback address of their own per test (127.0.0.0/8 is all loopback
 * on Linux): the server's login rate limit is per address, and one suite makes more attempts than its burst.
 */
let source = 1;
beforeEach(() => {
  source++;
});
function anon(method: string, path: string, body?: unknown): Promise<ApiResult> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const target = new URL(`${server.url}/v1/${path}`);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method,
        localAddress: `127.0.0.${source}`,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: new Headers() });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function expectRefused(res: ApiResult, status: number, message: RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors[0]).toMatch(message);
}

beforeAll(async () => {
  provider = await startOidcProvider();
  server = await startServer();
  await enableAuthMethods(server, 'jwt', 'oidc');
  provider.addClient('strongroom', { secret: CLIENT_SECRET, redirectUris: [CALLBACK] });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await provider?.close();
});

describe('jwt: machine tokens at auth/jwt/login', () => {
  const CI_CLAIMS = {
    sub: 'repo:acme/app:ref:refs/heads/main',
    aud: 'strongroom',
    ref: 'refs/heads/main',
    repository: 'acme/app',
    repository_owner: { name: 'acme' },
    environment: 'prod',
  };
  const login = (jwt: string, role = 'ci') => anon('POST', 'auth/jwt/login', { role, jwt });

  beforeAll(async () => {
    expect(
      (await root('POST', 'auth/jwt/config', { jwks_url: provider.jwksUri, bound_issuer: provider.issuer })).status,
    ).toBe(204);
    expect(
      (
        await root('POST', 'auth/jwt/role/ci', {
          role_type: 'jwt',
          user_claim: 'sub',
          bound_audiences: ['strongroom'],
          bound_claims_type: 'glob',
          bound_claims: { ref: ['refs/heads/main', 'refs/tags/v*'], '/repository_owner/name': 'acme' },
          claim_mappings: { repository: 'repository', ref: 'git_ref' },
          token_policies: ['ci'],
          token_ttl: '10m',
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await root('POST', 'auth/jwt/role/deploy', {
          role_type: 'jwt',
          user_claim: 'sub',
          bound_audiences: 'strongroom',
          bound_subject: 'repo:acme/app:ref:refs/heads/main',
          bound_claims: { environment: ['prod', 'staging'] },
          token_policies: 'deploy',
        })
      ).status,
    ).toBe(204);
  });

  it('reads back the configuration and roles as Vault shapes them', async () => {
    const config = await root('GET', 'auth/jwt/config');
    expect(config.body.data).toMatchObject({ jwks_url: provider.jwksUri, bound_issuer: provider.issuer });
    const role = await root('GET', 'auth/jwt/role/ci');
    expect(role.body.data).toMatchObject({
      role_type: 'jwt',
      user_claim: 'sub',
      bound_claims_type: 'glob',
      bound_claims: { ref: ['refs/heads/main', 'refs/tags/v*'], '/repository_owner/name': 'acme' },
      token_policies: ['ci'],
      token_ttl: 600,
      clock_skew_leeway: 60,
      expiration_leeway: 150,
      not_before_leeway: 150,
    });
    expect((await root('LIST', 'auth/jwt/role')).body.data.keys).toEqual(['ci', 'deploy']);
  });

  it('accepts a valid token: policies, token metadata from claim_mappings, display name jwt-<user claim>', async () => {
    const res = await login(await provider.mint(CI_CLAIMS));
    expect(res.status, res.text).toBe(200);
    expect(res.body.auth.policies).toEqual(['ci', 'default']);
    expect(res.body.auth.metadata).toEqual({ role: 'ci', repository: 'acme/app', git_ref: 'refs/heads/main' });
    const self = await api(server.url, 'GET', 'auth/token/lookup-self', { token: res.body.auth.client_token });
    expect(self.body.data.display_name).toBe(`jwt-${CI_CLAIMS.sub}`);
    expect(self.body.data.path).toBe('auth/jwt/login');
    expect((await login(await provider.mint(CI_CLAIMS), 'deploy')).status).toBe(200);
  });

  it('matches bound claims from a list with globs (a release tag)', async () => {
    const res = await login(await provider.mint({ ...CI_CLAIMS, ref: 'refs/tags/v1.4.2' }));
    expect(res.status, res.text).toBe(200);
  });

  it('refuses a wrong issuer, audience or subject', async () => {
    expectRefused(
      await login(await provider.mint({ ...CI_CLAIMS, iss: 'https://evil.example' })),
      403,
      /invalid issuer/,
    );
    expectRefused(
      await login(await provider.mint({ ...CI_CLAIMS, aud: 'someone-else' })),
      403,
      /aud claim does not match any bound audience/,
    );
    expectRefused(
      await login(await provider.mint({ ...CI_CLAIMS, sub: 'repo:acme/app:ref:refs/heads/dev' }), 'deploy'),
      403,
      /sub claim does not match bound subject/,
    );
  });

  it('refuses unmatched bound claims: string, glob, list, nested and missing', async () => {
    expectRefused(
      await login(await provider.mint({ ...CI_CLAIMS, environment: 'dev' }), 'deploy'),
      403,
      /claim "environment" does not match any associated bound claim values/,
    );
    expectRefused(
      await login(await provider.mint({ ...CI_CLAIMS, ref: 'refs/heads/feature' })),
      403,
      /claim "ref" does not match/,
    );
    expectRefused(
      await login(await provider.mint({ ...CI_CLAIMS, ref: ['refs/heads/feature', 'refs/heads/x'] })),
      403,
      /claim "ref" does not match/,
    );
    expectRefused(
      await login(await provider.mint({ ...CI_CLAIMS, repository_owner: { name: 'evil' } })),
      403,
      /claim "\/repository_owner\/name" does not match/,
    );
    const { environment: _e, ...withoutEnvironment } = CI_CLAIMS;
    void _e;
    expectRefused(
      await login(await provider.mint(withoutEnvironment), 'deploy'),
      403,
      /claim "environment" is missing/,
    );
  });

  it('refuses an expired token, alg none, an HMAC token and a key not in the JWKS, never echoing the token', async () => {
    const expired = await provider.mint(CI_CLAIMS, { expiresIn: -3600 });
    const none = provider.mintNone(CI_CLAIMS);
    const hmac = await provider.mintHs256(
      CI_CLAIMS,
      Buffer.from(JSON.stringify(await (await fetch(provider.jwksUri)).json())),
    );
    const stranger = await provider.mint(CI_CLAIMS, { unknownKey: true });
    const cases: Array<[string, RegExp]> = [
      [expired, /token is expired/],
      [none, /algorithm that is not allowed/],
      [hmac, /algorithm that is not allowed/],
      [stranger, /no known key successfully validated the token signature/],
    ];
    for (const [jwt, message] of cases) {
      const res = await login(jwt);
      expectRefused(res, 403, message);
      expect(res.text).not.toContain(jwt.split('.')[1]!);
    }
    expect(server.stdout() + server.stderr()).not.toContain(stranger.split('.')[1]!);
  });

  it('accepts a key added at the provider (rotation), and an oidc role cannot log in here', async () => {
    const kid = await provider.addKey();
    const rotated = await provider.mint(CI_CLAIMS);
    expect(JSON.parse(Buffer.from(rotated.split('.')[0]!, 'base64url').toString()).kid).toBe(kid);
    const res = await login(rotated);
    expect(res.status, res.text).toBe(200);

    await root('POST', 'auth/jwt/role/people', { user_claim: 'sub', allowed_redirect_uris: CALLBACK });
    expectRefused(await login(rotated, 'people'), 400, /role with oidc role_type is not allowed/);
    expectRefused(await login(rotated, 'nobody'), 400, /role "nobody" could not be found/);
  });

  it('validates configuration and roles with Vault’s messages', async () => {
    expectRefused(
      await root('POST', 'auth/jwt/config', {}),
      400,
      /exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set/,
    );
    expectRefused(
      await root('POST', 'auth/jwt/config', { jwks_url: provider.jwksUri, jwt_supported_algs: ['none'] }),
      400,
      /invalid jwt_supported_algs/,
    );
    expectRefused(
      await root('POST', 'auth/jwt/config', { jwks_url: provider.jwksUri, oidc_client_id: 'x' }),
      400,
      /both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC/,
    );
    expectRefused(
      await root('POST', 'auth/jwt/config', { jwks_url: `${provider.issuer}/nope` }),
      400,
      /error checking jwks URL/,
    );
    expectRefused(await root('POST', 'auth/jwt/role/r', { role_type: 'jwt' }), 400, /a user claim must be defined/);
    expectRefused(
      await root('POST', 'auth/jwt/role/r', { role_type: 'jwt', user_claim: 'sub' }),
      400,
      /must have at least one bound constraint/,
    );
    expectRefused(
      await root('POST', 'auth/jwt/role/r', { user_claim: 'sub' }),
      400,
      /'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified/,
    );
    expectRefused(
      await root('POST', 'auth/jwt/role/r', {
        role_type: 'jwt',
        user_claim: 'sub',
        bound_subject: 'x',
        bound_claims_type: 'regex',
      }),
      400,
      /invalid 'bound_claims_type'/,
    );
    expectRefused(
      await root('POST', 'auth/jwt/role/r', {
        role_type: 'jwt',
        user_claim: 'sub',
        bound_subject: 'x',
        claim_mappings: { a: 'role' },
      }),
      400,
      /metadata key "role" is reserved/,
    );
    // The configuration the suite relies on is untouched by the refused writes.
    expect((await root('GET', 'auth/jwt/config')).body.data.jwks_url).toBe(provider.jwksUri);
  });
});

describe('oidc: the authorization-code flow at auth/oidc/oidc/*', () => {
  beforeAll(async () => {
    provider.setUser({
      sub: 'u-1001',
      claims: { email: 'alice@example.com', groups: ['payments-team', 'everyone'] },
    });
    const config = await root('POST', 'auth/oidc/config', {
      oidc_discovery_url: provider.issuer,
      oidc_client_id: 'strongroom',
      oidc_client_secret: CLIENT_SECRET,
      default_role: 'people',
    });
    expect(config.status, config.text).toBe(204);
    const role = await root('POST', 'auth/oidc/role/people', {
      user_claim: 'email',
      groups_claim: 'groups',
      oidc_scopes: ['email', 'groups'],
      allowed_redirect_uris: [CALLBACK],
      claim_mappings: { email: 'email' },
      token_policies: ['people'],
    });
    expect(role.status, role.text).toBe(204);
  });

  async function start(body: Record<string, unknown> = {}): Promise<{ code: string; state: string; authUrl: URL }> {
    const res = await anon('POST', 'auth/oidc/oidc/auth_url', { role: 'people', redirect_uri: CALLBACK, ...body });
    expect(res.status, res.text).toBe(200);
    const authUrl = new URL(res.body.data.auth_url);
    const back = await approveInBrowser(authUrl.toString());
    return { code: back.searchParams.get('code') ?? '', state: back.searchParams.get('state') ?? '', authUrl };
  }
  const callback = (query: Record<string, string>) =>
    anon('GET', `auth/oidc/oidc/callback?${new URLSearchParams(query).toString()}`);

  it('never reads back the client secret', async () => {
    const read = await root('GET', 'auth/oidc/config');
    expect(read.body.data.oidc_client_id).toBe('strongroom');
    expect(read.text).not.toContain(CLIENT_SECRET);
  });

  it('completes: PKCE S256, state and nonce at the provider, a token with the role policies and alias metadata', async () => {
    const { code, state, authUrl } = await start({ client_nonce: 'cli-nonce-1' });
    expect(authUrl.origin).toBe(provider.issuer);
    expect(Object.fromEntries(authUrl.searchParams)).toMatchObject({
      client_id: 'strongroom',
      response_type: 'code',
      redirect_uri: CALLBACK,
      scope: 'openid email groups',
      code_challenge_method: 'S256',
    });
    expect(authUrl.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const res = await callback({ state, code, client_nonce: 'cli-nonce-1' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.auth.policies).toEqual(['default', 'people']);
    expect(res.body.auth.metadata).toEqual({ role: 'people', email: 'alice@example.com' });
    const self = await api(server.url, 'GET', 'auth/token/lookup-self', { token: res.body.auth.client_token });
    expect(self.body.data.display_name).toBe('oidc-alice@example.com');
    expect(server.stdout() + server.stderr()).not.toContain(CLIENT_SECRET);

    // The same state and code again: the state was used up.
    expectRefused(await callback({ state, code, client_nonce: 'cli-nonce-1' }), 403, /Expired or missing OAuth state/);
  });

  it('POST callback (JSON body) completes too; the default role applies when none is named', async () => {
    const res = await anon('POST', 'auth/oidc/oidc/auth_url', { redirect_uri: CALLBACK });
    const back = await approveInBrowser(res.body.data.auth_url);
    const done = await anon('POST', 'auth/oidc/oidc/callback', {
      state: back.searchParams.get('state'),
      code: back.searchParams.get('code'),
    });
    expect(done.status, done.text).toBe(200);
  });

  it('fails on a bad state, a replayed code, a wrong nonce, a wrong client nonce and a provider refusal', async () => {
    expectRefused(await callback({ state: 'made-up', code: 'x' }), 403, /Expired or missing OAuth state/);

    const first = await start();
    expect((await callback({ state: first.state, code: first.code })).status).toBe(200);
    const second = await start();
    expectRefused(
      await callback({ state: second.state, code: first.code }),
      403,
      /Error exchanging oidc code: "invalid_grant"/,
    );

    provider.useWrongNonceOnce();
    const third = await start();
    expectRefused(await callback({ state: third.state, code: third.code }), 403, /invalid ID token nonce/);

    const fourth = await start({ client_nonce: 'right' });
    expectRefused(
      await callback({ state: fourth.state, code: fourth.code, client_nonce: 'wrong' }),
      403,
      /invalid client_nonce/,
    );
    // The state is gone after a failed attempt too.
    expectRefused(
      await callback({ state: fourth.state, code: fourth.code, client_nonce: 'right' }),
      403,
      /Expired or missing OAuth state/,
    );

    provider.failNextAuthorization('access_denied', 'the user declined');
    const res = await anon('POST', 'auth/oidc/oidc/auth_url', { role: 'people', redirect_uri: CALLBACK });
    const back = await approveInBrowser(res.body.data.auth_url);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expectRefused(
      await callback({
        state: back.searchParams.get('state') ?? '',
        error_description: back.searchParams.get('error_description') ?? '',
      }),
      403,
      /Vault login failed\. the user declined/,
    );
  });

  it('answers an empty auth_url for a redirect URI the role does not allow; loopback ports are free', async () => {
    const refused = await anon('POST', 'auth/oidc/oidc/auth_url', {
      role: 'people',
      redirect_uri: 'https://evil.example/oidc/callback',
    });
    expect(refused.status).toBe(200);
    expect(refused.body.data).toEqual({ auth_url: '' });
    const otherPort = await anon('POST', 'auth/oidc/oidc/auth_url', {
      role: 'people',
      redirect_uri: 'http://localhost:51234/oidc/callback',
    });
    expect(otherPort.body.data.auth_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/authorize\?/);
    expectRefused(await anon('POST', 'auth/oidc/oidc/auth_url', { role: 'people' }), 400, /missing redirect_uri/);
    expectRefused(
      await anon('POST', 'auth/jwt/oidc/auth_url', { role: 'ci', redirect_uri: CALLBACK }),
      400,
      /OIDC login is not configured for this mount/,
    );
  });

  it('an external group from the groups claim grants its policy (identity store)', async () => {
    const policy = await root('PUT', 'sys/policies/acl/payments-read', {
      policy: 'path "secret/data/payments/*" { capabilities = ["read"] }',
    });
    expect(policy.status, policy.text).toBe(204);
    await root('POST', 'secret/data/payments/db', { data: { password: 'payments-pw' } });
    const group = await root('POST', 'identity/group', {
      name: 'payments',
      type: 'external',
      policies: ['payments-read'],
    });
    expect(group.status, group.text).toBe(200);
    const accessor = (await root('GET', 'sys/auth')).body.data['oidc/'].accessor as string;
    const alias = await root('POST', 'identity/group-alias', {
      name: 'payments-team',
      mount_accessor: accessor,
      canonical_id: group.body.data.id,
    });
    expect(alias.status, alias.text).toBe(200);

    const { code, state } = await start();
    const res = await callback({ state, code });
    expect(res.status, res.text).toBe(200);
    expect(res.body.auth.identity_policies).toEqual(['payments-read']);
    const read = await api(server.url, 'GET', 'secret/data/payments/db', { token: res.body.auth.client_token });
    expect(read.status, read.text).toBe(200);
    expect(read.body.data.data.password).toBe('payments-pw');
  });
});
