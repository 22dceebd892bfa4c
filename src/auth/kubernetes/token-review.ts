import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { StrongroomError, forbidden } from '../../shared/errors.js';

/**
 * The Kubernetes TokenReview API: the API server itself says whether a service-account JWT is valid (and not
 * deleted or bound to a deleted pod), which local signature checks cannot know.
 */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface ReviewedIdentity {
  namespace: string;
  name: string;
  uid: string;
  audiences: string[];
}

const REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
const TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export async function reviewToken(options: {
  host: string;
  caCert?: string;
  /** Bearer for the call: the configured reviewer JWT, or the login JWT itself (Vault's fallback). */
  bearer: string;
  jwt: string;
  audience?: string;
  fetch?: FetchLike;
}): Promise<ReviewedIdentity> {
  const url = new URL(REVIEW_PATH, options.host.endsWith('/') ? options.host : `${options.host}/`).toString();
  const body = JSON.stringify({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token: options.jwt, ...(options.audience ? { audiences: [options.audience] } : {}) },
  });
  const headers = {
    authorization: `Bearer ${options.bearer}`,
    'content-type': 'application/json',
    accept: 'application/json',
  };
  let response: { status: number; text: string };
  try {
    response = options.fetch
      ? await viaFetch(options.fetch, url, headers, body)
      : await post(url, headers, body, options.caCert);
  } catch (err) {
    // The cause may name the host; it never holds the JWT (that is only in the request body).
    throw new StrongroomError('unavailable', 'could not reach the Kubernetes API for a TokenReview', undefined, {
      cause: err,
    });
  }
  if (response.status === 401 || response.status === 403) {
    throw forbidden(
      `the Kubernetes API refused the TokenReview (HTTP ${response.status}); the reviewer needs the system:auth-delegator role`,
    );
  }
  if (response.status < 200 || response.status >= 300) {
    throw new StrongroomError('unavailable', `the Kubernetes TokenReview failed with HTTP ${response.status}`);
  }
  return parseReview(response.text, options.audience);
}

function parseReview(text: string, audience: string | undefined): ReviewedIdentity {
  let review: {
    status?: { authenticated?: boolean; user?: { username?: string; uid?: string }; audiences?: string[] };
  };
  try {
    review = JSON.parse(text) as typeof review;
  } catch {
    throw new StrongroomError('unavailable', 'the Kubernetes TokenReview answer was not JSON');
  }
  const status = review.status ?? {};
  if (status.authenticated !== true)
    throw forbidden('the Kubernetes API did not authenticate this service account token');
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(status.user?.username ?? '');
  if (!match) throw forbidden('the reviewed token does not belong to a service account');
  const audiences = Array.isArray(status.audiences) ? status.audiences.filter((a) => typeof a === 'string') : [];
  if (audience && audiences.length > 0 && !audiences.includes(audience)) {
    throw forbidden('the service account token was not issued for this audience');
  }
  return { namespace: match[1] as string, name: match[2] as string, uid: status.user?.uid ?? '', audiences };
}

async function viaFetch(fetch: FetchLike, url: string, headers: Record<string, string>, body: string) {
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
  return { status: response.status, text: await response.text() };
}

/** node:http(s) rather than global fetch, because only this honours a custom CA (the cluster's ca.crt). */
function post(url: string, headers: Record<string, string>, body: string, caCert?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        timeout: TIMEOUT_MS,
        ...(target.protocol === 'https:' && caCert ? { ca: caCert } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error('TokenReview response too large'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('TokenReview timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
