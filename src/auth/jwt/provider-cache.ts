import { StrongroomError } from '../../shared/errors.js';
import { RemoteKeySet, discover, fetchJson, type ProviderMetadata } from './remote.js';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';

/**
 * Per-process caches of what identity providers publish, shared by every jwt/oidc mount: discovery documents (kept
 * ten minutes, refreshed at a config write) and JWKS key sets (see RemoteKeySet). Keyed by URL and CA, so two
 * mounts of one provider share them.
 */
export interface ProviderCaches {
  provider(discoveryUrl: string, ca: string): Promise<ProviderMetadata>;
  /** Fetches the discovery document now (a config write), replacing the cached one. */
  refreshProvider(discoveryUrl: string, ca: string): Promise<ProviderMetadata>;
  keySet(url: string, ca: string): RemoteKeySet;
  /** Fetches a JWKS once and checks that it is one (a config write). */
  checkKeySet(url: string, ca: string): Promise<void>;
}

const DISCOVERY_MAX_AGE_MS = 10 * 60_000;
const MAX_ENTRIES = 64;

export function createProviderCaches(clock: () => number = Date.now): ProviderCaches {
  const documents = new Map<string, { metadata: ProviderMetadata; at: number }>();
  const keySets = new Map<string, RemoteKeySet>();
  const keyOf = (url: string, ca: string) => `${url}\n${ca}`;

  async function refreshProvider(url: string, ca: string): Promise<ProviderMetadata> {
    const metadata = await discover(url, ca || undefined);
    if (documents.size >= MAX_ENTRIES) documents.clear();
    documents.set(keyOf(url, ca), { metadata, at: clock() });
    return metadata;
  }

  return {
    async provider(url, ca) {
      const cached = documents.get(keyOf(url, ca));
      if (cached && clock() - cached.at < DISCOVERY_MAX_AGE_MS) return cached.metadata;
      try {
        return await refreshProvider(url, ca);
      } catch (err) {
        throw new StrongroomError('unavailable', 'error getting provider for login operation', undefined, {
          cause: err,
        });
      }
    },
    refreshProvider,
    keySet(url, ca) {
      const key = keyOf(url, ca);
      let set = keySets.get(key);
      if (!set) {
        if (keySets.size >= MAX_ENTRIES) keySets.clear();
        set = new RemoteKeySet(url, ca || undefined, clock);
        keySets.set(key, set);
      }
      return set;
    },
    async checkKeySet(url, ca) {
      createLocalJWKSet((await fetchJson(url, ca || undefined)) as unknown as JSONWebKeySet);
    },
  };
}
