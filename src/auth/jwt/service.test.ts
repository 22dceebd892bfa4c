import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import { approveInBrowser, startOidcProvider, type OidcProviderDouble } from '../../../test/support/oidc-provider.js';
import { unsealedSealService } from '../../crypto/testing.js';
import type { LoginRequest, LoginService } from '../login.js';
import type { TokenInfo } from '../types.js';
import { createJwtMethod } from './module.js';
import { createProviderCaches } from './provider-cache.js';
import { createJwtRepository } from './repository.js';
import { createJwtAuthService } from './service.js';
import type { JwtAuthService } from './types.js';

const SECRET = 'oidc-client-secret-51c2';
const CALLBACK = 'http://localhost:8250/oidc/callback';

let provider: OidcProviderDouble;
beforeAll(async () => {
  provider = await startOidcProvider({ user: { sub: 'u1', claims: { email: 'bob@example.com', groups: ['ops'] } } });
  provider.addClient('sr', { secret: SECRET, redirectUris: [CALLBACK] });
});
afterAll(() => provider?.close());

describeEachEngine('jwt auth service: OIDC state and the sealed client secret', (ctx) => {
  const requests: LoginRequest[] = [];
  const logins: Pick<LoginService, 'complete'> = {
    complete: async (request) => {
      requests.push(request);
      return { kind: 'token', token: 'srs.x', info: {} as TokenInfo, identityPolicies: [] };
    },
  };
  let clock = Date.now();
  const mountA = { uuid: '00000000-0000-0000-0000-00000000000a', path: 'oidc/', accessor: 'auth_oidc_a', type: 'oidc' };
  const mountB = { ...mountA, uuid: '00000000-0000-0000-0000-00000000000b', path: 'oidc-b/', accessor: 'auth_oidc_b' };
  let a: JwtAuthService;
  let b: JwtAuthService;
  let seal: Awaited<ReturnType<typeof unsealedSealService>>;

  beforeAll(async () => {
    seal = await unsealedSealService(ctx.storage());
    const providers = createProviderCaches();
    const make = (mount: typeof mountA) =>
      createJwtAuthService({
        storage: ctx.storage(),
        barrier: seal.barrier,
        logins,
        providers,
        mount,
        clock: () => clock,
      });
    a = make(mountA);
    b = make(mountB);
    for (const service of [a, b]) {
      await service.writeConfig({ oidcDiscoveryUrl: provider.issuer, oidcClientId: 'sr', oidcClientSecret: SECRET });
      await service.writeRole({
        name: 'people',
        userClaim: 'email',
        groupsClaim: 'groups',
        allowedRedirectUris: [CALLBACK],
        tokenPolicies: ['people'],
      });
    }
  });

  async function begin(service: JwtAuthService, clientNonce?: string) {
    const url = await service.authUrl({
      role: 'people',
      redirectUri: CALLBACK,
      ...(clientNonce ? { clientNonce } : {}),
    });
    const back = await approveInBrowser(url);
    return { state: back.searchParams.get('state')!, code: back.searchParams.get('code')! };
  }

  it('keeps the client secret sealed at rest and out of the configuration it reads back', async () => {
    const rows = await sql<{
      config: string;
      client_secret: Uint8Array;
    }>`select config, client_secret from auth_jwt_config`.execute(ctx.storage().db);
    expect(rows.rows).toHaveLength(2);
    for (const row of rows.rows) {
      expect(row.config).not.toContain(SECRET);
      expect(Buffer.from(row.client_secret).toString('latin1')).not.toContain(SECRET);
    }
    expect(JSON.stringify(await a.readConfig())).not.toContain(SECRET);
  });

  it('stores the state hashed and sealed; the login gets alias, groups and token settings', async () => {
    const { state, code } = await begin(a);
    const stored = await sql<{
      state_hash: string;
      request: Uint8Array;
    }>`select state_hash, request from auth_jwt_oidc_states`.execute(ctx.storage().db);
    expect(stored.rows.map((r) => r.state_hash)).not.toContain(state);
    for (const row of stored.rows) expect(Buffer.from(row.request).toString('latin1')).not.toContain('people');

    requests.length = 0;
    await a.callback({ state, code, remoteAddress: '127.0.0.1' });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      mount: { accessor: 'auth_oidc_a', path: 'oidc/', type: 'oidc' },
      alias: { name: 'bob@example.com', metadata: {} },
      groupAliases: ['ops'],
      token: {
        authMethod: 'oidc',
        path: 'auth/oidc/oidc/callback',
        policies: ['people'],
        displayName: 'oidc-bob@example.com',
        meta: { role: 'people' },
      },
    });
  });

  it('a state belongs to its mount: another mount cannot redeem it, and the owner still can', async () => {
    const { state, code } = await begin(a);
    await expect(b.callback({ state, code, remoteAddress: '127.0.0.1' })).rejects.toThrow(
      /Expired or missing OAuth state/,
    );
    await expect(a.callback({ state, code, remoteAddress: '127.0.0.1' })).resolves.toMatchObject({ kind: 'token' });
  });

  it('two concurrent callbacks with one state: exactly one proceeds', async () => {
    const { state, code } = await begin(a);
    const results = await Promise.allSettled([
      a.callback({ state, code, remoteAddress: '127.0.0.1' }),
      a.callback({ state, code, remoteAddress: '127.0.0.1' }),
      a.callback({ state, code, remoteAddress: '127.0.0.1' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('moves the sealed client secrets onto a new keyring term, and they still open', async () => {
    const method = createJwtMethod({ storage: ctx.storage(), barrier: seal.barrier, logins: logins as LoginService });
    await seal.rotate();
    expect(await method.rewrapper.countStale()).toBe(2);
    expect(await method.rewrapper.rewrapBatch(10)).toBe(2);
    expect(await method.rewrapper.countStale()).toBe(0);
    const { state, code } = await begin(a);
    await expect(a.callback({ state, code, remoteAddress: '127.0.0.1' })).resolves.toMatchObject({ kind: 'token' });
  });

  it('a state older than ten minutes is refused and tidied', async () => {
    const { state, code } = await begin(a);
    const started = clock;
    clock = started + 10 * 60_000 + 1;
    try {
      await expect(a.callback({ state, code, remoteAddress: '127.0.0.1' })).rejects.toThrow(
        /Expired or missing OAuth state/,
      );
      await begin(a);
      clock = started + 30 * 60_000;
      expect(await createJwtRepository(ctx.storage(), '').deleteExpiredStates(clock)).toBeGreaterThan(0);
    } finally {
      clock = Date.now();
    }
  });
});

describe('provider double', () => {
  it('redeems a code once, with the PKCE verifier and the same redirect URI', async () => {
    const VERIFIER = 'dBjftJeZ4CVP-mJ92K9ufkrsXbX1ol2GEB0K9_gcbHk';
    const authorize = new URL(`${provider.issuer}/authorize`);
    const params = {
      client_id: 'sr',
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'openid',
      state: 's',
      nonce: 'n',
      code_challenge: createHash('sha256').update(VERIFIER, 'ascii').digest('base64url'),
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);
    const freshCode = async () => (await approveInBrowser(authorize.toString())).searchParams.get('code')!;
    const redeem = async (code: string, verifier: string, redirect = CALLBACK, secret = SECRET) => {
      const res = await fetch(`${provider.issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`sr:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirect,
          code_verifier: verifier,
        }),
      });
      return res.status;
    };
    const code = await freshCode();
    expect(await redeem(code, VERIFIER)).toBe(200);
    expect(await redeem(code, VERIFIER)).toBe(400);
    expect(await redeem(await freshCode(), VERIFIER.replace('d', 'e'))).toBe(400);
    expect(await redeem(await freshCode(), VERIFIER, 'http://localhost:9/elsewhere')).toBe(400);
    expect(await redeem(await freshCode(), VERIFIER, CALLBACK, 'wrong-secret')).toBe(401);
    const { searchParams } = await approveInBrowser(
      authorize.toString().replace('code_challenge_method=S256', 'code_challenge_method=plain'),
    );
    expect(searchParams.get('error')).toBe('invalid_request');
  });
});
