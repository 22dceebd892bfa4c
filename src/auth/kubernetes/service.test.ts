import { beforeEach, expect, it } from 'vitest';
import { exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import { describeEachEngine } from '../../../test/support/engines.js';
import type { KubernetesAuthService, TokenService } from '../types.js';
import { HOUR, ISSUER, useKubernetesAuth } from './service-testing.js';
import { errorOf } from '../../../test/support/errors.js';
import type { TokenLogins } from '../login-testing.js';

/** Login with service-account tokens: signatures, issuers, bindings and keys (roles, config, TokenReview: service-config.test.ts). */
describeEachEngine('kubernetes auth: login', (ctx) => {
  const fx = useKubernetesAuth(ctx);
  const { saToken } = fx;
  let otherKey: CryptoKey;
  let publicPem: string;
  let jwks: string;
  let tokens: TokenService;
  let k8s: TokenLogins<KubernetesAuthService>;
  beforeEach(() => {
    ({ otherKey, publicPem, jwks, tokens, k8s } = fx);
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
});
