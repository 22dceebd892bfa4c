import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { StrongroomError } from '../../shared/errors.js';

/**
 * What the method fetches from an identity provider: the discovery document, the JWKS, and (for the OIDC flow) the
 * token endpoint. Plain node:http(s) so a private CA (oidc_discovery_ca_pem, jwks_ca_pem) can be trusted per call;
 * bounded in time and size. Errors say which endpoint failed, never what was sent (a code, a client secret).
 */
const TIMEOUT_MS = 10_000;
const MAX_BYTES = 1024 * 1024;

export interface HttpAnswer {
  status: number;
  text: string;
}

export function httpCall(
  url: string,
  options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; ca?: string } = {},
): Promise<HttpAnswer> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    return Promise.reject(new Error(`unsupported URL scheme ${target.protocol}`));
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? 'GET',
        headers: { accept: 'application/json', ...options.headers },
        timeout: TIMEOUT_MS,
        ...(options.ca && target.protocol === 'https:' ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BYTES) req.destroy(new Error('response too large'));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export async function fetchJson(url: string, ca?: string): Promise<Record<string, unknown>> {
  const answer = await httpCall(url, ca ? { ca } : {});
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`);
  const parsed: unknown = JSON.parse(answer.text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
  return parsed as Record<string, unknown>;
}

/** The provider metadata the method uses (OpenID Connect Discovery 1.0). */
export interface ProviderMetadata {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  tokenAuthMethods: string[];
}

export async function discover(discoveryUrl: string, ca?: string): Promise<ProviderMetadata> {
  const wellKnown = `${discoveryUrl.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const doc = await fetchJson(wellKnown, ca);
  const text = (key: string) => (typeof doc[key] === 'string' ? (doc[key] as string) : '');
  // As go-oidc: the document must name the issuer it was fetched for, or its keys could vouch for another issuer.
  if (text('issuer') !== discoveryUrl) {
    throw new Error(`issuer did not match the issuer returned by provider, expected "${discoveryUrl}"`);
  }
  if (!text('jwks_uri')) throw new Error('the discovery document has no jwks_uri');
  const methods = doc.token_endpoint_auth_methods_supported;
  return {
    issuer: text('issuer'),
    authorizationEndpoint: text('authorization_endpoint'),
    tokenEndpoint: text('token_endpoint'),
    jwksUri: text('jwks_uri'),
    tokenAuthMethods: Array.isArray(methods) ? methods.filter((m): m is string => typeof m === 'string') : [],
  };
}

/** A verification key jose accepts. */
export type VerifyKey = Awaited<ReturnType<ReturnType<typeof createLocalJWKSet>>> | KeyObject;

const CACHE_MAX_AGE_MS = 10 * 60_000;
/** One refetch per unknown kid per window, and a few per minute in all: random kids cannot hammer the provider. */
const MISS_REFETCH_PER_KID_MS = 30_000;
const MISS_REFETCHES_PER_MINUTE = 10;

/**
 * A remote JWKS, cached: refetched when older than ten minutes, and at once when a token names a key id the cached
 * set lacks (the provider rotated its keys), within the limits above.
 */
export class RemoteKeySet {
  private set: ReturnType<typeof createLocalJWKSet> | undefined;
  private fetchedAt = 0;
  private inflight: Promise<void> | undefined;
  private readonly missAt = new Map<string, number>();
  private recentMisses: number[] = [];

  constructor(
    private readonly url: string,
    private readonly ca: string | undefined,
    private readonly clock: () => number,
  ) {}

  /** The keys that may have signed a token with this header (several when it names no kid). */
  async candidates(header: JWSHeaderParameters): Promise<VerifyKey[]> {
    if (!this.set || this.clock() - this.fetchedAt > CACHE_MAX_AGE_MS) await this.refresh();
    const found = await this.lookup(header);
    if (found.length > 0 || !this.mayRefetchFor(header.kid ?? '')) return found;
    await this.refresh();
    return this.lookup(header);
  }

  private async lookup(header: JWSHeaderParameters): Promise<VerifyKey[]> {
    try {
      return [await this.set!(header)];
    } catch (err) {
      if (err instanceof joseErrors.JWKSMultipleMatchingKeys) {
        const keys: VerifyKey[] = [];
        for await (const key of err as unknown as AsyncIterable<VerifyKey>) keys.push(key);
        return keys;
      }
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JOSENotSupported) return [];
      throw err;
    }
  }

  private mayRefetchFor(kid: string): boolean {
    const now = this.clock();
    this.recentMisses = this.recentMisses.filter((t) => now - t < 60_000);
    const last = this.missAt.get(kid);
    if (last !== undefined && now - last < MISS_REFETCH_PER_KID_MS) return false;
    if (this.recentMisses.length >= MISS_REFETCHES_PER_MINUTE) return false;
    if (this.missAt.size > 256) this.missAt.clear();
    this.missAt.set(kid, now);
    this.recentMisses.push(now);
    return true;
  }

  private refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        const jwks = await fetchJson(this.url, this.ca);
        this.set = createLocalJWKSet(jwks as unknown as JSONWebKeySet);
        this.fetchedAt = this.clock();
      } catch (err) {
        throw new StrongroomError('unavailable', 'error fetching jwks keyset', undefined, { cause: err });
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
