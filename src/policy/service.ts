import { invalid, notFound } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { compileAcl, rootAcl } from './acl.js';
import { DEFAULT_POLICY, ROOT_POLICY } from './builtin.js';
import { parsePolicy } from './document.js';
import { createPolicyRepository } from './repository.js';
import type { Acl, PolicyDocument, PolicyService } from './types.js';

export interface PolicyServiceDeps {
  storage: Pick<Storage, 'db'>;
  /** Epoch milliseconds; injectable so tests can move time. */
  clock?: () => number;
  /** How often the hot path looks for other replicas' writes (default 2000 ms). */
  refreshIntervalMs?: number;
  /** Compiled ACLs kept, one per distinct policy set, least recently used evicted first (default 1000). */
  maxCachedAcls?: number;
}

export interface CachedPolicyService extends PolicyService {
  /** Checks now whether another replica changed policies, dropping compiled ACLs if so. */
  refresh(): Promise<void>;
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

function policyName(name: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalid("policy names are 1 to 128 characters: letters, digits, '_', '.' and '-'");
  }
  return name.toLowerCase();
}

/**
 * Policies: CRUD over stored documents, and compiled ACLs for the request hot path. A compiled ACL is cached per
 * distinct (sorted) policy set. Local writes drop the cache at once; writes by other replicas are noticed through a
 * generation counter in the database, checked at most every `refreshIntervalMs` in the background (requests never
 * wait for that check).
 */
export function createPolicyService(deps: PolicyServiceDeps): CachedPolicyService {
  const repository = createPolicyRepository(deps.storage);
  const clock = deps.clock ?? Date.now;
  const refreshIntervalMs = deps.refreshIntervalMs ?? 2000;
  const maxCachedAcls = deps.maxCachedAcls ?? 1000;

  // Promises, not values: concurrent requests for the same uncached set share one compilation, and an entry created
  // before an invalidation is removed by it, so a compilation that read old rows is never kept.
  const cache = new Map<string, Promise<Acl>>();
  let knownGeneration: number | undefined;
  let lastCheck = clock();
  let checking: Promise<void> | undefined;

  function invalidate(generation: number): void {
    knownGeneration = generation;
    cache.clear();
  }

  async function check(): Promise<void> {
    const generation = await repository.generation();
    if (generation !== knownGeneration) invalidate(generation);
  }

  /** An explicit refresh waits for a background check in flight, so its own answer is never older than that one. */
  async function refresh(): Promise<void> {
    if (checking) await checking;
    await check();
  }

  function refreshInBackground(): void {
    checking = check()
      // A failed check keeps the cache; the next request after the interval tries again.
      .catch(() => undefined)
      .finally(() => {
        checking = undefined;
      });
  }

  function maybeRefresh(): void {
    const now = clock();
    if (checking || now - lastCheck < refreshIntervalMs) return;
    lastCheck = now;
    refreshInBackground();
  }

  refreshInBackground();

  async function compile(names: readonly string[]): Promise<Acl> {
    const rows = await repository.getMany(names);
    return compileAcl(rows.map((row) => parsePolicy(row.raw)));
  }

  return {
    async write(name, text) {
      const policy = policyName(name);
      if (policy === ROOT_POLICY) throw invalid('the root policy cannot be changed');
      if (typeof text !== 'string' || text.trim() === '') throw invalid('policy text is empty');
      const rules = parsePolicy(text);
      invalidate(await repository.put(policy, text, clock()));
      return { name: policy, rules, raw: text };
    },

    async read(name): Promise<PolicyDocument> {
      const policy = policyName(name);
      if (policy === ROOT_POLICY) return { name: ROOT_POLICY, rules: [], raw: '' };
      const row = await repository.get(policy);
      if (!row) throw notFound(`no policy named "${policy}"`);
      return { name: policy, rules: parsePolicy(row.raw), raw: row.raw };
    },

    async list() {
      const names = new Set(await repository.listNames());
      names.add(ROOT_POLICY);
      return [...names].sort();
    },

    async delete(name) {
      const policy = policyName(name);
      if (policy === ROOT_POLICY) throw invalid('the root policy cannot be deleted');
      if (policy === DEFAULT_POLICY) throw invalid('the default policy cannot be deleted (it can be edited)');
      const generation = await repository.remove(policy);
      if (generation !== undefined) invalidate(generation);
    },

    async acl(policyNames) {
      const names = [
        ...new Set(policyNames.filter((n) => typeof n === 'string' && NAME.test(n)).map((n) => n.toLowerCase())),
      ].sort();
      if (names.includes(ROOT_POLICY)) return rootAcl();
      maybeRefresh();
      const key = names.join('\n');
      const cached = cache.get(key);
      if (cached) {
        // Re-insert to mark it most recently used.
        cache.delete(key);
        cache.set(key, cached);
        return cached;
      }
      const compiled = compile(names);
      cache.set(key, compiled);
      compiled.catch(() => {
        // A failed compilation (database down) must not be served from the cache.
        if (cache.get(key) === compiled) cache.delete(key);
      });
      if (cache.size > maxCachedAcls) cache.delete(cache.keys().next().value!);
      return compiled;
    },

    refresh,
  };
}
