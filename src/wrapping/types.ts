import type { WrapInfo } from '../logical/backend.js';

/** The wrapping token (shown once), its accessor, TTL, creation time and the path whose response it wraps. */
export type { WrapInfo };

/**
 * Vault's response wrapping (https://developer.hashicorp.com/vault/docs/concepts/response-wrapping): instead of a
 * response, the caller gets a single-use wrapping token whose cubbyhole holds the response. The wrapping token is a
 * real token with only the `response-wrapping` policy (which grants nothing through the ACL: the token is good only
 * for sys/wrapping/unwrap and lookup, where this service checks it itself).
 */
export const RESPONSE_WRAPPING_POLICY = 'response-wrapping';

/** Vault's words for every unusable wrapping token (unknown, expired, used, or not a wrapping token at all). */
export const INVALID_WRAPPING_TOKEN = 'wrapping token is not valid or does not exist';

export interface WrapLookup {
  creationTtl: number;
  /** Epoch ms. */
  creationTime: number;
  creationPath: string;
}

export interface WrappingService {
  /**
   * Mints a wrapping token living `ttl` seconds (capped by the store's maximum token TTL) and seals `response` (the
   * JSON body the caller would have received) in its cubbyhole. Fails as a whole: when the response cannot be
   * stored, the token is revoked and the error propagates.
   */
  wrap(input: {
    response: Record<string, unknown>;
    ttl: number;
    creationPath: string;
    wrappedAccessor?: string;
  }): Promise<WrapInfo>;
  /** Hands back the wrapped response once; the token is then revoked. 'invalid' (INVALID_WRAPPING_TOKEN) otherwise. */
  unwrap(token: string): Promise<Record<string, unknown>>;
  /** The wrapping token's properties; uses nothing up. */
  lookup(token: string): Promise<WrapLookup>;
  /** Moves the response to a new wrapping token with the same creation TTL and path; the old one is revoked. */
  rewrap(token: string): Promise<WrapInfo>;
}
