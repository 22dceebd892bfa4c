import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import type { Barrier } from '../../crypto/types.js';
import { unsealedSealService } from '../../crypto/testing.js';
import { createTokenService } from '../token/service.js';
import type { KubernetesAuthService, TokenService } from '../types.js';
import { createKubernetesAuthService } from './service.js';
import { errorOf } from '../../../test/support/errors.js';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const HOUR = 3600;

interface SaToken {
  namespace?: string;
  name?: string;
  uid?: string;
  audience?: string | string[];
  issuer?: string;
  expiresInSeconds?: number;
  legacy?: boolean;
  key?: CryptoKey;
}

function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature').toString('base64url')}`;
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function selfSignedCertificate(): string {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-ca-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=kubernetes',
    ],
    { stdio: 'ignore' },
  );
  return readFileSync(join(dir, 'cert.pem'), 'utf8');
}

describeEachEngine('kubernetes auth', (ctx) => {
  let barrier: Barrier;
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;
  let publicPem: string;
  let jwks: string;
  let now: number;
  let tokens: TokenService;
  let k8s: KubernetesAuthService;
  let reviewServer: Server;
  let reviewUrl: string;
  const reviews: Array<{ authorization: string | undefined; token: string; audiences: string[] | undefined }> = [];
  // JWT-shaped (Vault checks the reviewer JWT's form when it is configured), unsigned: only its form matters here.
  const REVIEWER_JWT = unsignedJwt({ sub: 'system:serviceaccount:kube-system:reviewer', secret: 'must-stay-secret' });

  /** Signs a service-account token the way the API server would. */
  async function saToken(options: SaToken = {}): Promise<string> {
    const namespace = options.namespace ?? 'payments';
    const name = options.name ?? 'api';
    const uid = options.uid ?? '6a1e2c4f-0000-4000-8000-000000000001';
    const claims: JWTPayload = options.legacy
      ? {
          'kubernetes.io/serviceaccount/namespace': namespace,
          'kubernetes.io/serviceaccount/service-account.name': name,
          'kubernetes.io/serviceaccount/service-account.uid': uid,
        }
      : { 'kubernetes.io': { namespace, serviceaccount: { name, uid }, pod: { name: 'api-7d9', uid: 'p-1' } } };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'test' })
      .setSubject(`system:serviceaccount:${namespace}:${name}`)
      .setIssuer(options.issuer ?? (options.legacy ? 'kubernetes/serviceaccount' : ISSUER))
      .setIssuedAt(Math.floor(now / 1000));
    if (!options.legacy || options.expiresInSeconds !== undefined) {
      jwt.setExpirationTime(Math.floor(now / 1000) + (options.expiresInSeconds ?? 3600));
    }
    if (options.audience !== undefined) jwt.setAudience(options.audience);
    return jwt.sign(options.key ?? signingKey);
  }

  beforeAll(async () => {
    barrier = (await unsealedSealService(ctx.storage())).barrier;
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'test', alg: 'RS256', use: 'sig' }] });
    otherKey = (await generateKeyPair('RS256')).privateKey;

    // A tiny TokenReview endpoint: authenticates tokens that start with "good.", as system:serviceaccount:<ns>:<sa>
    // taken from the token text ("good.<ns>.<sa>").
    reviewServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
          res.writeHead(404).end();
          return;
        }
        const review = JSON.parse(body) as { spec: { token: string; audiences?: string[] } };
        reviews.push({
          authorization: req.headers.authorization,
          token: review.spec.token,
          audiences: review.spec.audiences,
        });
        if (req.headers.authorization !== `Bearer ${REVIEWER_JWT}`) {
          res.writeHead(403, { 'content-type': 'application/json' }).end('{"kind":"Status","code":403}');
          return;
        }
        const [kind, ns, sa] = review.spec.token.split('.');
        const status =
          kind === 'good'
            ? {
                authenticated: true,
                user: { username: `system:serviceaccount:${ns}:${sa}`, uid: 'uid-42' },
                audiences: review.spec.audiences ?? [],
              }
            : { authenticated: false, error: 'token has been invalidated' };
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status }));
      });
    });
    await new Promise<void>((resolve) => reviewServer.listen(0, '127.0.0.1', resolve));
    reviewUrl = `http://127.0.0.1:${(reviewServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => reviewServer.close(() => resolve()));
  });

  beforeEach(async () => {
    now = Date.UTC(2025, 0, 1);
    tokens = createTokenService({
      storage: ctx.storage(),
      barrier,
      clock: () => now,
      defaultTtl: 768 * HOUR,
      maxTtl: 768 * HOUR,
    });
    k8s = createKubernetesAuthService({ storage: ctx.storage(), tokens, barrier, clock: () => now });
    await k8s.writeConfig({ kubernetesHost: 'https://kubernetes.default.svc', pemKeys: [publicPem], issuer: ISSUER });
    // A write updates only the fields it gives: start each test from a fresh role.
    await k8s.deleteRole('payments');
    await k8s.writeRole({
      name: 'payments',
      boundServiceAccountNames: ['api'],
      boundServiceAccountNamespaces: ['payments'],
      audience: 'strongroom',
      tokenPolicies: ['payments-read'],
      tokenTtl: HOUR,
      tokenMaxTtl: 4 * HOUR,
      tokenPeriod: 0,
    });
  });

  it('logs a bound service account in with a token carrying its identity', async () => {
    const { token, info } = await k8s.login('payments', await saToken({ audience: 'strongroom' }));
    expect(info.policies).toEqual(['default', 'payments-read']);
    expect(info.authMethod).toBe('kubernetes');
    expect(info.displayName).toBe('kubernetes-payments-api');
    expect(info.meta).toEqual({
      role: 'payments',
      service_account_name: 'api',
      service_account_namespace: 'payments',
      service_account_uid: '6a1e2c4f-0000-4000-8000-000000000001',
    });
    expect(info.ttl).toBe(HOUR);
    expect((await tokens.authenticate(token)).accessor).toBe(info.accessor);
  });

  it("binds the login token to the role's token_bound_cidrs", async () => {
    const base = await k8s.readRole('payments');
    await k8s.writeRole({ ...base, tokenBoundCidrs: ['192.168.0.0/16', '10.0.0.7'] });
    expect((await k8s.readRole('payments')).tokenBoundCidrs).toEqual(['192.168.0.0/16', '10.0.0.7/32']);
    const { token, info } = await k8s.login('payments', await saToken({ audience: 'strongroom' }));
    expect((await errorOf(tokens.authenticate(token, '127.0.0.1'))).kind).toBe('unauthenticated');
    expect((await tokens.authenticate(token, '10.0.0.7')).accessor).toBe(info.accessor);
    expect((await errorOf(k8s.writeRole({ ...base, tokenBoundCidrs: ['10.0.0.0/40'] }))).kind).toBe('invalid');
  });

  it.each([
    ['expired', { audience: 'strongroom', expiresInSeconds: -60 }, 'expired'],
    ['wrong audience', { audience: 'someone-else' }, 'audience'],
    ['no audience', {}, 'audience'],
    ['wrong namespace', { audience: 'strongroom', namespace: 'billing' }, 'namespace "billing"'],
    ['wrong service account', { audience: 'strongroom', name: 'worker' }, 'service account "worker"'],
    ['wrong issuer', { audience: 'strongroom', issuer: 'https://evil.example' }, 'issuer'],
  ] as const)('refuses a token with %s', async (_case, options, reason) => {
    const jwt = await saToken(options);
    const err = await errorOf(k8s.login('payments', jwt));
    expect(err.kind).toBe('forbidden');
    expect(err.message).toContain(reason);
    expect(err.message).not.toContain(jwt);
  });

  it('refuses a token signed by another key', async () => {
    const jwt = await saToken({ audience: 'strongroom', key: otherKey });
    const err = await errorOf(k8s.login('payments', jwt));
    expect(err.kind).toBe('forbidden');
    expect(err.message).toContain('signature');
  });

  it('refuses a tampered payload and garbage', async () => {
    const jwt = await saToken({ audience: 'strongroom', namespace: 'billing' });
    const [header, , signature] = jwt.split('.');
    const good = (await saToken({ audience: 'strongroom' })).split('.')[1];
    expect((await errorOf(k8s.login('payments', `${header}.${good}.${signature}`))).kind).toBe('forbidden');
    expect((await errorOf(k8s.login('payments', 'not-a-jwt'))).kind).toBe('forbidden');
  });

  it('refuses an unknown role without revealing anything else', async () => {
    const err = await errorOf(k8s.login('nope', await saToken({ audience: 'strongroom' })));
    expect(err.kind).toBe('forbidden');
  });

  it('accepts legacy secret-based tokens with the default issuer', async () => {
    await k8s.writeConfig({ kubernetesHost: 'https://kubernetes.default.svc', pemKeys: [publicPem] });
    await k8s.writeRole({ ...(await k8s.readRole('payments')), name: 'legacy', audience: undefined });
    const { info } = await k8s.login('legacy', await saToken({ legacy: true }));
    expect(info.meta.service_account_namespace).toBe('payments');
    expect(info.meta.service_account_uid).toBe('6a1e2c4f-0000-4000-8000-000000000001');
  });

  it('matches bound names and namespaces with * and globs', async () => {
    await k8s.writeRole({
      ...(await k8s.readRole('payments')),
      name: 'globbed',
      boundServiceAccountNames: ['web-*'],
      boundServiceAccountNamespaces: ['*'],
    });
    const { info } = await k8s.login(
      'globbed',
      await saToken({ audience: 'strongroom', namespace: 'anything', name: 'web-frontend' }),
    );
    expect(info.displayName).toBe('kubernetes-anything-web-frontend');
    expect((await errorOf(k8s.login('globbed', await saToken({ audience: 'strongroom', name: 'api-web' })))).kind).toBe(
      'forbidden',
    );
  });

  it('verifies against a JWKS document and tries every configured PEM key', async () => {
    await k8s.writeConfig({ kubernetesHost: 'https://kubernetes.default.svc', jwks, issuer: ISSUER });
    expect((await k8s.login('payments', await saToken({ audience: 'strongroom' }))).info.meta.role).toBe('payments');
    const unrelated = await exportSPKI((await generateKeyPair('ES256')).publicKey);
    await k8s.writeConfig({
      kubernetesHost: 'https://kubernetes.default.svc',
      pemKeys: [unrelated, publicPem],
      issuer: ISSUER,
    });
    expect((await k8s.login('payments', await saToken({ audience: 'strongroom' }))).info.meta.role).toBe('payments');
  });

  it('keeps roles and validates them', async () => {
    expect(await k8s.listRoles()).toContain('payments');
    expect((await k8s.readRole('payments')).boundServiceAccountNames).toEqual(['api']);
    const bad = { ...(await k8s.readRole('payments')), name: 'bad' };
    expect((await errorOf(k8s.writeRole({ ...bad, boundServiceAccountNames: [] }))).kind).toBe('invalid');
    expect((await errorOf(k8s.writeRole({ ...bad, boundServiceAccountNamespaces: ['*', 'x'] }))).kind).toBe('invalid');
    expect((await errorOf(k8s.writeRole({ ...bad, tokenPolicies: ['root'] }))).kind).toBe('invalid');
    await k8s.writeRole({ ...bad, name: 'temporary' });
    await k8s.deleteRole('temporary');
    expect((await errorOf(k8s.readRole('temporary'))).kind).toBe('not_found');
    // As Vault: deleting a role that is not there succeeds.
    await k8s.deleteRole('temporary');
    await k8s.deleteRole('never-existed');
  });

  it('updates only the fields a write gives, as Vault does', async () => {
    await k8s.deleteRole('partial');
    await k8s.writeRole({
      name: 'partial',
      boundServiceAccountNames: ['api'],
      boundServiceAccountNamespaces: ['prod'],
      audience: 'vault',
      tokenPolicies: ['a'],
    });
    await k8s.writeRole({ name: 'partial', tokenTtl: 60 });
    expect(await k8s.readRole('partial')).toMatchObject({
      boundServiceAccountNames: ['api'],
      boundServiceAccountNamespaces: ['prod'],
      audience: 'vault',
      tokenPolicies: ['a'],
      tokenTtl: 60,
      aliasNameSource: 'serviceaccount_uid',
    });
    await k8s.writeRole({ name: 'partial', audience: '' });
    expect((await k8s.readRole('partial')).audience).toBeUndefined();
    // A new role still needs its bindings.
    expect((await errorOf(k8s.writeRole({ name: 'fresh-role', tokenTtl: 60 }))).message).toBe(
      '"bound_service_account_names" can not be empty',
    );
  });

  it('keeps token_explicit_max_ttl apart for read-back and applies the smaller hard limit', async () => {
    await k8s.writeRole({ name: 'payments', tokenExplicitMaxTtl: 600 });
    expect(await k8s.readRole('payments')).toMatchObject({ tokenMaxTtl: 4 * HOUR, tokenExplicitMaxTtl: 600 });
    const { info } = await k8s.login('payments', await saToken({ audience: 'strongroom' }));
    expect(info.explicitMaxTtl).toBe(600);
    expect(info.ttl).toBe(600);
  });

  it("validates roles in Vault's words and keeps alias_name_source and audience", async () => {
    const base = { ...(await k8s.readRole('payments')), name: 'checked' };
    const message = async (role: Parameters<KubernetesAuthService['writeRole']>[0]) =>
      (await errorOf(k8s.writeRole(role))).message;
    expect(await message({ ...base, boundServiceAccountNames: [' '] })).toBe(
      '"bound_service_account_names" can not be empty',
    );
    expect(await message({ ...base, boundServiceAccountNames: ['*', 'api'] })).toBe('can not mix "*" with values');
    expect(await message({ ...base, boundServiceAccountNamespaces: [] })).toBe(
      '"bound_service_account_namespaces" can not be empty if "bound_service_account_namespace_selector" is not set',
    );
    expect(await message({ ...base, aliasNameSource: 'pod_name' })).toMatch(/^invalid alias_name_source "pod_name"/);
    expect(await message({ ...base, tokenTtl: 2 * HOUR, tokenMaxTtl: HOUR })).toBe(
      'token ttl should not be greater than token max ttl',
    );

    await k8s.writeRole(base);
    expect((await k8s.readRole('checked')).aliasNameSource).toBe('serviceaccount_uid');
    await k8s.writeRole({ ...base, aliasNameSource: 'serviceaccount_name', audience: ' vault ' });
    expect(await k8s.readRole('checked')).toMatchObject({ aliasNameSource: 'serviceaccount_name', audience: 'vault' });
  });

  it('seals the reviewer JWT at rest and never reads it back', async () => {
    await k8s.writeConfig({ kubernetesHost: reviewUrl, tokenReviewerJwt: REVIEWER_JWT });
    const config = await k8s.readConfig();
    expect(config.tokenReviewerJwtSet).toBe(true);
    expect(JSON.stringify(config)).not.toContain(REVIEWER_JWT);
    const rows = (await ctx.storage().db.selectFrom('auth_kubernetes_config').selectAll().execute()) as Array<{
      config: string;
      reviewer_jwt: Uint8Array;
    }>;
    const dump = rows.map((r) => r.config + Buffer.from(r.reviewer_jwt).toString('latin1')).join('');
    expect(dump).not.toContain(REVIEWER_JWT);
  });

  it("rejects invalid configuration, in Vault's words where Vault has them", async () => {
    const message = async (config: Parameters<KubernetesAuthService['writeConfig']>[0]) =>
      (await errorOf(k8s.writeConfig(config))).message;
    expect(await message({ kubernetesHost: '' })).toBe('no host provided');
    expect(await message({ kubernetesHost: 'ftp://x' })).toBe('kubernetes_host must be an http(s) URL');
    expect(await message({ kubernetesHost: 'kubernetes.default.svc:443' })).toBe(
      'kubernetes_host must be an http(s) URL',
    );
    expect(await message({ kubernetesHost: 'https://k', pemKeys: ['nope'] })).toBe(
      'pem_keys[0] is not a PEM public key or certificate',
    );
    expect(await message({ kubernetesHost: 'https://k', kubernetesCaCert: 'nope' })).toBe(
      'The provided CA PEM data contains no valid certificates',
    );
    const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    expect(await message({ kubernetesHost: 'https://k', kubernetesCaCert: broken })).toBe(
      'The provided CA PEM data contains no valid certificates',
    );
    for (const reviewer of ['not-a-jwt', 'a.b.c', `${REVIEWER_JWT}.extra`]) {
      const text = await message({ kubernetesHost: 'https://k', tokenReviewerJwt: reviewer });
      expect(text).toBe('token_reviewer_jwt is not a valid JWT');
    }
    // Nothing was stored by the refused writes.
    expect((await k8s.readConfig()).kubernetesHost).not.toBe('https://k');
  });

  it.skipIf(!hasOpenssl())('accepts a CA bundle of real certificates and reads disable_local_ca_jwt back', async () => {
    const ca = selfSignedCertificate();
    await k8s.writeConfig({
      kubernetesHost: reviewUrl,
      kubernetesCaCert: `${ca}${ca}`,
      disableLocalCaJwt: true,
      tokenReviewerJwt: REVIEWER_JWT,
    });
    expect(await k8s.readConfig()).toMatchObject({
      kubernetesCaCert: `${ca}${ca}`,
      disableLocalCaJwt: true,
      tokenReviewerJwtSet: true,
    });
    await k8s.writeConfig({ kubernetesHost: reviewUrl });
    expect(await k8s.readConfig()).toMatchObject({ disableLocalCaJwt: false, tokenReviewerJwtSet: false });
  });

  it('asks the TokenReview API, with the reviewer JWT as bearer, when configured to', async () => {
    await k8s.writeConfig({ kubernetesHost: reviewUrl, tokenReviewerJwt: REVIEWER_JWT });
    reviews.length = 0;
    const { info } = await k8s.login('payments', 'good.payments.api');
    expect(info.meta).toMatchObject({
      service_account_namespace: 'payments',
      service_account_name: 'api',
      service_account_uid: 'uid-42',
    });
    expect(reviews).toEqual([
      { authorization: `Bearer ${REVIEWER_JWT}`, token: 'good.payments.api', audiences: ['strongroom'] },
    ]);
  });

  it('refuses what the TokenReview API does not authenticate, or binds elsewhere', async () => {
    await k8s.writeConfig({ kubernetesHost: reviewUrl, tokenReviewerJwt: REVIEWER_JWT, useTokenReview: true });
    const refused = await errorOf(k8s.login('payments', 'bad.payments.api'));
    expect(refused.kind).toBe('forbidden');
    expect(refused.message).not.toContain('bad.payments.api');
    expect((await errorOf(k8s.login('payments', 'good.billing.api'))).message).toContain('namespace "billing"');
  });

  it('reports a reviewer without permission as forbidden, with a hint', async () => {
    await k8s.writeConfig({
      kubernetesHost: reviewUrl,
      tokenReviewerJwt: unsignedJwt({ sub: 'wrong-reviewer' }),
      useTokenReview: true,
    });
    const err = await errorOf(k8s.login('payments', 'good.payments.api'));
    expect(err.kind).toBe('forbidden');
    expect(err.message).toContain('auth-delegator');
  });

  it('reports an unreachable API server as unavailable', async () => {
    await k8s.writeConfig({ kubernetesHost: 'http://127.0.0.1:1', tokenReviewerJwt: REVIEWER_JWT });
    expect((await errorOf(k8s.login('payments', 'good.payments.api'))).kind).toBe('unavailable');
  });
});
