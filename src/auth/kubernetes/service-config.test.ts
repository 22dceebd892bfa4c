import { beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import type { KubernetesAuthService } from '../types.js';
import {
  HOUR,
  REVIEWER_JWT,
  hasOpenssl,
  selfSignedCertificate,
  unsignedJwt,
  useKubernetesAuth,
} from './service-testing.js';
import { errorOf } from '../../../test/support/errors.js';
import type { TokenLogins } from '../login-testing.js';

/** Roles, configuration and the TokenReview API (login: service.test.ts). */
describeEachEngine('kubernetes auth: roles, config and TokenReview', (ctx) => {
  const fx = useKubernetesAuth(ctx);
  const { reviews, saToken } = fx;
  let k8s: TokenLogins<KubernetesAuthService>;
  let reviewUrl: string;
  beforeEach(() => {
    ({ k8s, reviewUrl } = fx);
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
