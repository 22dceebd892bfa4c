import { createPublicKey } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { forbidden } from '../../shared/errors.js';
import type { Claims } from './claims.js';
import type { VerifyKey } from './remote.js';

/**
 * Signature and time checks of a JWT, as Vault's JWT plugin makes them. The signature first, by the configured keys
 * and only with the configured algorithms (asymmetric ones: `none` and HMAC are never accepted, whatever the token
 * says); then exp/nbf/iat with the role's leeways. Messages name the check, never the token or a claim's value.
 */

/** Every algorithm jwt_supported_algs may list (Vault's set); the default is RS256 alone. */
export const SUPPORTED_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
] as const;
export const DEFAULT_ALGS = ['RS256'];
const MAX_JWT_LENGTH = 64 * 1024;
/** Vault's default for expiration_leeway and not_before_leeway (a token with only one of exp/nbf/iat). */
export const CLAIM_DEFAULT_LEEWAY = 150;
/** go-jose's default clock skew, used when clock_skew_leeway is 0. */
export const DEFAULT_CLOCK_SKEW = 60;

export type KeyResolver = (header: { alg?: string; kid?: string }) => Promise<VerifyKey[]>;

/** Static PEM keys (jwt_validation_pubkeys) as a resolver: every key is a candidate. */
export function staticKeys(pems: readonly string[]): KeyResolver {
  const keys = pems.map((pem) => createPublicKey(pem));
  return async () => keys;
}

/** Verifies the signature with the candidate keys and returns the claims (not yet checked). */
export async function verifySignature(jwt: string, algorithms: readonly string[], keys: KeyResolver): Promise<Claims> {
  if (typeof jwt !== 'string' || jwt.length > MAX_JWT_LENGTH || jwt.split('.').length !== 3) {
    throw forbidden('error parsing token: the token is not a compact JWS');
  }
  let header: { alg?: string; kid?: string };
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw forbidden('error parsing token: the token header is malformed');
  }
  // Only asymmetric algorithms, whatever a stored configuration says (defence in depth: the write validates it too).
  const configured = algorithms.filter((alg) => (SUPPORTED_ALGS as readonly string[]).includes(alg));
  const allowed = algorithms.length > 0 ? configured : DEFAULT_ALGS;
  // Refused before any key is tried: `alg: none` and HS256 (with a public key as the HMAC secret) are the classics.
  if (typeof header.alg !== 'string' || !allowed.includes(header.alg)) {
    throw forbidden('error verifying token: the token is signed with an algorithm that is not allowed');
  }
  for (const key of await keys(header)) {
    try {
      const { payload } = await compactVerify(jwt, key, { algorithms: [...allowed] });
      const claims: unknown = JSON.parse(new TextDecoder().decode(payload));
      if (!claims || typeof claims !== 'object' || Array.isArray(claims)) break;
      return claims as Claims;
    } catch (err) {
      if (err instanceof SyntaxError) break;
      if (!(err instanceof joseErrors.JWSSignatureVerificationFailed) && !(err instanceof joseErrors.JOSEError)) {
        throw err;
      }
    }
  }
  throw forbidden('error verifying token: no known key successfully validated the token signature');
}

export interface TimeLeeways {
  clockSkewLeeway: number;
  expirationLeeway: number;
  notBeforeLeeway: number;
}

const numeric = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * Vault's time rules: a token needs at least one of iat, nbf, exp. A missing exp is the latest of iat/nbf plus
 * expiration_leeway; a missing nbf is iat, or exp minus not_before_leeway. Then exp, nbf and iat are checked with
 * clock_skew_leeway. For each leeway, 0 means Vault's default and a negative value none.
 */
export function timeFailure(claims: Claims, leeways: TimeLeeways, nowMs: number): string | null {
  const iat = numeric(claims.iat);
  let exp = numeric(claims.exp);
  let nbf = numeric(claims.nbf);
  if (iat === 0 && exp === 0 && nbf === 0) return 'no issue time, notbefore, or expiration time encoded in token';
  const pick = (value: number, fallback: number) => (value < 0 ? 0 : value === 0 ? fallback : value);
  if (exp === 0) exp = Math.max(iat, nbf) + pick(leeways.expirationLeeway, CLAIM_DEFAULT_LEEWAY);
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - pick(leeways.notBeforeLeeway, CLAIM_DEFAULT_LEEWAY);
  const skew = pick(leeways.clockSkewLeeway, DEFAULT_CLOCK_SKEW);
  const now = nowMs / 1000;
  // go-jose's order: nbf, exp, iat.
  if (now + skew < nbf) return 'validation failed, token not valid yet (nbf)';
  if (now > exp + skew) return 'validation failed, token is expired (exp)';
  if (iat !== 0 && now + skew < iat) return 'validation failed, token issued in the future (iat)';
  return null;
}
