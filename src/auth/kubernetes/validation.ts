/**
 * Validation of what a person writes to kubernetes auth: the mount's configuration and its roles, with Vault's checks
 * and (where Vault has them) Vault's words. Pure: each returns the normalized form that is stored.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import { invalid } from '../../shared/errors.js';
import { formatCidr, parseCidr } from '../cidr.js';
import { nonNegativeInteger, sanitizePolicies } from '../token/format.js';
import type { KubernetesAuthConfig, KubernetesRole } from '../types.js';

export const ROLE_NAME = /^[\w.-]{1,255}$/;
export const ROLE_DEFAULTS: Omit<KubernetesRole, 'name'> = {
  boundServiceAccountNames: [],
  boundServiceAccountNamespaces: [],
  tokenPolicies: [],
  tokenTtl: 0,
  tokenMaxTtl: 0,
  tokenPeriod: 0,
  tokenBoundCidrs: [],
};
/** Vault's alias_name_source values. Strongroom has no identity entities yet, so it is kept and read back only. */
const ALIAS_NAME_SOURCES: readonly string[] = ['serviceaccount_uid', 'serviceaccount_name'];

export type StoredConfig = Omit<KubernetesAuthConfig, 'tokenReviewerJwt' | 'tokenReviewerJwtSet'>;

export function validateConfig(input: KubernetesAuthConfig): StoredConfig {
  if (!input || typeof input !== 'object') throw invalid('kubernetes config must be an object');
  const host = input.kubernetesHost;
  // Vault's words when it is missing. Vault also takes a bare host or host:port; Strongroom asks for the URL, so
  // the scheme (and with it whether TLS is used) is never guessed.
  if (typeof host !== 'string' || host.trim() === '') throw invalid('no host provided');
  if (!isHttpUrl(host)) throw invalid('kubernetes_host must be an http(s) URL');
  if (input.kubernetesCaCert && !containsCertificate(input.kubernetesCaCert)) {
    throw invalid('The provided CA PEM data contains no valid certificates');
  }
  const pemKeys = (input.pemKeys ?? []).map((pem, i) => {
    try {
      // Accepts SPKI public keys and certificates alike; a private key would also parse, so refuse those.
      if (/PRIVATE KEY/.test(pem)) throw new Error('private');
      createPublicKey(pem);
      return pem;
    } catch {
      throw invalid(`pem_keys[${i}] is not a PEM public key or certificate`);
    }
  });
  if (input.jwks) {
    try {
      createLocalJWKSet(JSON.parse(input.jwks) as Parameters<typeof createLocalJWKSet>[0]);
    } catch {
      throw invalid('jwks is not a JSON Web Key Set');
    }
  }
  if (input.jwksUrl && !isHttpUrl(input.jwksUrl)) throw invalid('jwks_url must be an http(s) URL');
  // Vault checks the reviewer JWT's form (not its signature: the key may be unknown here). Never echoed.
  const reviewer = input.tokenReviewerJwt?.trim();
  if (reviewer && !looksLikeJwt(reviewer)) throw invalid('token_reviewer_jwt is not a valid JWT');
  return {
    kubernetesHost: host.replace(/\/+$/, ''),
    ...(input.kubernetesCaCert ? { kubernetesCaCert: input.kubernetesCaCert } : {}),
    ...(pemKeys.length ? { pemKeys } : {}),
    ...(input.jwks ? { jwks: input.jwks } : {}),
    ...(input.jwksUrl ? { jwksUrl: input.jwksUrl } : {}),
    useTokenReview: input.useTokenReview === true,
    ...(input.issuer ? { issuer: input.issuer } : {}),
    disableIssValidation: input.disableIssValidation === true,
    disableLocalCaJwt: input.disableLocalCaJwt === true,
  };
}

/** Every PEM block parses as an X.509 certificate, and there is at least one (Vault's hasCerts, made strict). */
function containsCertificate(bundle: string): boolean {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return false;
  try {
    for (const block of blocks) new X509Certificate(block);
    return true;
  } catch {
    return false;
  }
}

/** Three base64url segments whose first two are JSON objects: a JWT by form, whatever its signature. */
function looksLikeJwt(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return false;
  try {
    return parts.slice(0, 2).every((p) => {
      const decoded: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      return typeof decoded === 'object' && decoded !== null && !Array.isArray(decoded);
    });
  } catch {
    return false;
  }
}

export function validateRole(input: KubernetesRole): KubernetesRole {
  if (!input || typeof input !== 'object') throw invalid('role must be an object');
  if (typeof input.name !== 'string' || !ROLE_NAME.test(input.name)) {
    throw invalid('role name must be 1–255 letters, digits, ".", "_" or "-"');
  }
  // Vault's checks and words, in Vault's order.
  const names = boundList(input.boundServiceAccountNames);
  if (names.length === 0) throw invalid('"bound_service_account_names" can not be empty');
  if (names.length > 1 && names.includes('*')) throw invalid('can not mix "*" with values');
  const namespaces = boundList(input.boundServiceAccountNamespaces);
  if (namespaces.length === 0) {
    throw invalid(
      '"bound_service_account_namespaces" can not be empty if "bound_service_account_namespace_selector" is not set',
    );
  }
  if (namespaces.length > 1 && namespaces.includes('*')) throw invalid('can not mix "*" with values');
  if (input.audience !== undefined && typeof input.audience !== 'string') throw invalid('audience must be a string');
  const aliasNameSource = input.aliasNameSource ?? 'serviceaccount_uid';
  if (!ALIAS_NAME_SOURCES.includes(aliasNameSource)) {
    throw invalid(
      `invalid alias_name_source ${JSON.stringify(String(aliasNameSource).slice(0, 64))}; valid values are ${ALIAS_NAME_SOURCES.join(', ')}`,
    );
  }
  const tokenPolicies = sanitizePolicies(input.tokenPolicies ?? [], false);
  if (tokenPolicies.includes('root')) throw invalid('a role cannot grant the root policy');
  const tokenTtl = nonNegativeInteger('token_ttl', input.tokenTtl);
  const tokenMaxTtl = nonNegativeInteger('token_max_ttl', input.tokenMaxTtl);
  if (tokenMaxTtl > 0 && tokenTtl > tokenMaxTtl) throw invalid('token ttl should not be greater than token max ttl');
  return {
    name: input.name,
    boundServiceAccountNames: names,
    boundServiceAccountNamespaces: namespaces,
    ...(input.audience?.trim() ? { audience: input.audience.trim() } : {}),
    aliasNameSource,
    tokenPolicies,
    tokenTtl,
    tokenMaxTtl,
    tokenExplicitMaxTtl: nonNegativeInteger('token_explicit_max_ttl', input.tokenExplicitMaxTtl),
    tokenPeriod: nonNegativeInteger('token_period', input.tokenPeriod),
    tokenBoundCidrs: tokenBoundCidrs(input.tokenBoundCidrs),
  };
}

/** Validated, each as its canonical block (a bare address becomes a /32 or /128), de-duplicated. */
function tokenBoundCidrs(values: readonly string[] | undefined): string[] {
  if (values === undefined) return [];
  if (!Array.isArray(values)) throw invalid('token_bound_cidrs must be a list');
  return [
    ...new Set(values.filter((v) => typeof v !== 'string' || v.trim() !== '').map((v) => formatCidr(parseCidr(v)))),
  ];
}

/** Trimmed, without blanks, de-duplicated. ("*" already means everything: mixing it with names is refused above.) */
function boundList(values: readonly string[] | undefined): string[] {
  if (values !== undefined && !Array.isArray(values)) throw invalid('bound service account lists must be lists');
  return [...new Set((values ?? []).map((v) => (typeof v === 'string' ? v.trim() : '')).filter((v) => v !== ''))];
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
