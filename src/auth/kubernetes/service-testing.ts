import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { EngineContext } from '../../../test/support/engines.js';
import type { Barrier } from '../../crypto/types.js';
import { unsealedSealService } from '../../crypto/testing.js';
import { createTokenService } from '../token/service.js';
import type { KubernetesAuthService, TokenService } from '../types.js';
import { createKubernetesAuthService } from './service.js';
import { testLogins, tokenLogins, type TokenLogins } from '../login-testing.js';

/** Shared setup of the Kubernetes auth service tests (service*.test.ts). */
export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const HOUR = 3600;

export interface SaToken {
  namespace?: string;
  name?: string;
  uid?: string;
  audience?: string | string[];
  issuer?: string;
  expiresInSeconds?: number;
  legacy?: boolean;
  key?: CryptoKey;
}

export function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature').toString('base64url')}`;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed EC certificate and its key, made by openssl for `subject` (and `altName` when given). */
export function selfSignedKeyPair(subject = '/CN=kubernetes', altName?: string): { cert: string; key: string } {
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
      subject,
      ...(altName ? ['-addext', `subjectAltName=${altName}`] : []),
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

export function selfSignedCertificate(): string {
  return selfSignedKeyPair().cert;
}

// JWT-shaped (Vault checks the reviewer JWT's form when it is configured), unsigned: only its form matters here.
export const REVIEWER_JWT = unsignedJwt({
  sub: 'system:serviceaccount:kube-system:reviewer',
  secret: 'must-stay-secret',
});

/** What the tests see; the fields set by hooks are read after them (destructure in a beforeEach). */
export interface KubernetesAuthFixture {
  otherKey: CryptoKey;
  publicPem: string;
  jwks: string;
  tokens: TokenService;
  k8s: TokenLogins<KubernetesAuthService>;
  reviewUrl: string;
  reviews: Array<{ authorization: string | undefined; token: string; audiences: string[] | undefined }>;
  saToken: (options?: SaToken) => Promise<string>;
}

/**
 * Call inside a describeEachEngine body: makes the signing keys and a fake TokenReview endpoint once, and before
 * every test a fresh token service and Kubernetes auth service configured with the "payments" role.
 */
export function useKubernetesAuth(ctx: EngineContext): KubernetesAuthFixture {
  let barrier: Barrier;
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;
  let publicPem: string;
  let jwks: string;
  let now: number;
  let tokens: TokenService;
  let k8s: TokenLogins<KubernetesAuthService>;
  let reviewServer: Server;
  let reviewUrl: string;
  const reviews: Array<{ authorization: string | undefined; token: string; audiences: string[] | undefined }> = [];

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
    k8s = tokenLogins(
      createKubernetesAuthService({ storage: ctx.storage(), logins: testLogins(tokens), barrier, clock: () => now }),
    );
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
  return {
    get otherKey() {
      return otherKey;
    },
    get publicPem() {
      return publicPem;
    },
    get jwks() {
      return jwks;
    },
    get tokens() {
      return tokens;
    },
    get k8s() {
      return k8s;
    },
    get reviewUrl() {
      return reviewUrl;
    },
    reviews,
    saToken,
  };
}
