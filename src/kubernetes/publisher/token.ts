/**
 * The token the publisher presents to the store: read from a file on each use (a rotated file is picked up without a
 * restart), or obtained by a Kubernetes-auth login with the operator's own service-account token and kept until 80 %
 * of its lease has passed. Tokens never reach a log line or an error message.
 */
import { readFile } from 'node:fs/promises';
import { ApiError, type Client } from '../../client/index.js';

export const SERVICE_ACCOUNT_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type PublishAuth =
  { kind: 'token-file'; file: string } | { kind: 'kubernetes'; role: string; mount: string; jwtFile: string };

export interface TokenSource {
  token(): Promise<string>;
  /** The store refused the token (403): log in again next time. */
  forget(): void;
}

export function createTokenSource(
  auth: PublishAuth,
  client: Pick<Client, 'write'>,
  clock: () => number = Date.now,
): TokenSource {
  if (auth.kind === 'token-file') {
    return {
      async token() {
        const token = (await readFile(auth.file, 'utf8')).trim();
        if (token === '') throw new Error(`the publish token file ${auth.file} is empty`);
        return token;
      },
      forget: () => undefined,
    };
  }
  let cached: { token: string; renewAt: number } | undefined;
  return {
    async token() {
      if (cached && clock() < cached.renewAt) return cached.token;
      const jwt = (await readFile(auth.jwtFile, 'utf8')).trim();
      let body;
      try {
        body = await client.write(`auth/${auth.mount}/login`, { role: auth.role, jwt }, { token: '' });
      } catch (err) {
        // The server's errors[] never hold the JWT; the path names the mount only.
        throw new Error(
          `login at auth/${auth.mount} as role ${auth.role} failed: ${err instanceof ApiError ? err.errors.join('; ') || `HTTP ${err.status}` : (err as Error).message}`,
          { cause: err },
        );
      }
      const token = body?.auth?.client_token;
      if (typeof token !== 'string' || token === '') throw new Error(`login at auth/${auth.mount} returned no token`);
      const ttl = Number(body.auth.lease_duration ?? 0);
      cached = { token, renewAt: ttl > 0 ? clock() + ttl * 800 : Number.POSITIVE_INFINITY };
      return token;
    },
    forget() {
      cached = undefined;
    },
  };
}
