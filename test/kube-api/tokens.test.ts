import { AuthenticationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKubeconfig } from '../support/kube-api/index.js';
import { failure, startHarness, type Harness } from './harness.js';

let h: Harness;
let authn: AuthenticationV1Api;
beforeAll(async () => {
  h = await startHarness();
  authn = h.kc.makeApiClient(AuthenticationV1Api);
  await h.core.createNamespace({ body: { metadata: { name: 'tok' } } });
  await h.core.createNamespacedServiceAccount({ namespace: 'tok', body: { metadata: { name: 'app' } } });
});
afterAll(() => h.api.close());

describe('service-account tokens', () => {
  it('issues a TokenRequest JWT verifiable with the published JWKS, and TokenReview accepts it', async () => {
    const tr = await h.core.createNamespacedServiceAccountToken({
      namespace: 'tok',
      name: 'app',
      body: { spec: { audiences: ['strongroom'], expirationSeconds: 600 } },
    });
    const token = tr.status!.token;
    const { payload } = await jwtVerify(token, createLocalJWKSet(h.api.serviceAccountIssuer.jwks), {
      issuer: h.api.serviceAccountIssuer.issuer,
      audience: 'strongroom',
    });
    expect(payload.sub).toBe('system:serviceaccount:tok:app');
    expect((payload['kubernetes.io'] as { namespace: string }).namespace).toBe('tok');

    const review = await authn.createTokenReview({ body: { spec: { token, audiences: ['strongroom'] } } });
    expect(review.status).toMatchObject({
      authenticated: true,
      user: { username: 'system:serviceaccount:tok:app' },
      audiences: ['strongroom'],
    });
    expect(review.status?.user?.groups).toContain('system:serviceaccounts:tok');

    const wrongAudience = await authn.createTokenReview({ body: { spec: { token, audiences: ['someone-else'] } } });
    expect(wrongAudience.status?.authenticated).toBe(false);
    const garbage = await authn.createTokenReview({ body: { spec: { token: `${token.slice(0, -4)}AAAA` } } });
    expect(garbage.status?.authenticated).toBe(false);
    expect(garbage.status?.error).not.toContain(token);
  });

  it('revokes tokens with their service account, and refuses too-short lifetimes and unknown accounts', async () => {
    await h.core.createNamespacedServiceAccount({ namespace: 'tok', body: { metadata: { name: 'temp' } } });
    const token = await h.api.issueToken('tok', 'temp');
    expect((await authn.createTokenReview({ body: { spec: { token } } })).status?.authenticated).toBe(true);
    await h.core.deleteNamespacedServiceAccount({ namespace: 'tok', name: 'temp' });
    expect((await authn.createTokenReview({ body: { spec: { token } } })).status?.authenticated).toBe(false);
    const short = await failure(
      h.core.createNamespacedServiceAccountToken({
        namespace: 'tok',
        name: 'app',
        body: { spec: { audiences: [], expirationSeconds: 60 } },
      }),
    );
    expect(short.code).toBe(422);
    const missing = await failure(
      h.core.createNamespacedServiceAccountToken({
        namespace: 'tok',
        name: 'nobody',
        body: { spec: { audiences: [] } },
      }),
    );
    expect(missing.code).toBe(404);
  });

  it('every namespace gets a default service account', async () => {
    const sa = await h.core.readNamespacedServiceAccount({ namespace: 'tok', name: 'default' });
    expect(sa.metadata?.uid).toBeTruthy();
  });

  it('publishes OIDC discovery for the issuer', async () => {
    const doc = (await (await fetch(`${h.api.url}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(doc.issuer).toBe(h.api.serviceAccountIssuer.issuer);
    const jwks = (await (await fetch(doc.jwks_uri)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys[0]?.kid).toBe(h.api.serviceAccountIssuer.jwks.keys[0]?.kid);
  });
});

describe('authentication mode', () => {
  it('requires a known bearer token or a service-account token it issued', async () => {
    const locked = await startHarness({ auth: { tokens: ['admin-token'] } }, 'admin-token');
    try {
      expect((await locked.core.listNamespace()).items.length).toBeGreaterThan(0);
      const anonymous = new KubeConfig();
      anonymous.loadFromFile(await writeKubeconfig(locked.api.url, { token: 'wrong' }));
      const denied = await failure(anonymous.makeApiClient(CoreV1Api).listNamespace());
      expect(denied.code).toBe(401);
      const raw = await fetch(`${locked.api.url}/api/v1/namespaces`, { headers: { authorization: 'Bearer wrong' } });
      expect(raw.status).toBe(401);
      expect(await raw.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
      const saToken = await locked.api.issueToken('default', 'default');
      const asSa = new KubeConfig();
      asSa.loadFromFile(await writeKubeconfig(locked.api.url, { token: saToken }));
      expect((await asSa.makeApiClient(CoreV1Api).readNamespace({ name: 'default' })).metadata?.name).toBe('default');
    } finally {
      await locked.api.close();
    }
  });
});
