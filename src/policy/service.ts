import { invalid, notFound } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { compilePolicySet, rootAcl, type PolicySetAcl } from './acl.js';
import { DEFAULT_POLICY, ROOT_POLICY } from './builtin.js';
import { parsePolicy, parsePolicySource, type PolicySource } from './document.js';
import { createPolicyRepository } from './repository.js';
import type { Acl, PolicyDocument, PolicyIdentity, PolicyService } from './types.js';

export interface PolicyServiceDeps {
  storage: Pick<Storage, 'db'>;
  /** Epoch milliseconds; injectable so tests can move time. */
  clock?: () => number;
  /** How often the hot path looks for other replicas' writes (default 2000 ms). */
  refreshIntervalMs?: number;
  /** Compiled ACLs kept, one per distinct policy set, least recently used evicted first (default 1000). */
  maxCachedAcls?: number;
  /**
   * ACLs of templated policy sets kept, one per (policy set, resolved templated paths), least recently used evicted
   * first (default 4096): a thousand namespaces sharing one templated policy need a thousand entries.
   */
  maxCachedTemplatedAcls?: number;
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
 * distinct (sorted) policy set. A set with templated paths is compiled once too; for a request with an identity its
 * templates are resolved (string lookups) and the ACL for the resulting paths is taken from a second bounded cache, so
 * no request parses a document. Local writes drop both caches at once; writes by other replicas are noticed through a
 * generation counter in the database, checked at most every `refreshIntervalMs` in the background (requests never
 * wait for that check).
 */
export function createPolicyService(deps: PolicyServiceDeps): CachedPolicyService {
  const repository = createPolicyRepository(deps.storage);
  const clock = deps.clock ?? Date.now;
  const refreshIntervalMs = deps.refreshIntervalMs ?? 2000;
  const maxCachedAcls = deps.maxCachedAcls ?? 1000;
  const maxCachedTemplatedAcls = deps.maxCachedTemplatedAcls ?? 4096;

  // Promises, not values: concurrent requests for the same uncached set share one compilation, and an entry created
  // before an invalidation is removed by it, so a compilation that read old rows is never kept. `plain` is derived
  // once so a request without identity gets its ACL with no more work than a map lookup.
  const cache = new Map<string, { set: Promise<PolicySetAcl>; plain: Promise<Acl> }>();
  // Templated sets resolved for an identity: keyed by the set and the paths its templates resolved to (not by
  // entity), so every identity that resolves alike shares one ACL. `epoch` counts invalidations: an ACL built from a
  // set compiled before one is served once but never kept.
  const templatedCache = new Map<string, Acl>();
  let epoch = 0;
  let knownGeneration: number | undefined;
  let lastCheck = clock();
  let checking: Promise<void> | undefined;

  function invalidate(generation: number): void {
    knownGeneration = generation;
    cache.clear();
    templatedCache.clear();
    epoch++;
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

  async function compile(names: readonly string[]): Promise<PolicySetAcl> {
    const rows = await repository.getMany(names);
    return compilePolicySet(rows.map((row) => ({ name: row.name, ...parsePolicySource(row.raw, { stored: true }) })));
  }

  /** The compiled set for sorted, lowercased names, from the cache (most recently used) or compiled now. */
  function policySet(key: string, names: readonly string[]): { set: Promise<PolicySetAcl>; plain: Promise<Acl> } {
    const cached = cache.get(key);
    if (cached) {
      // Re-insert to mark it most recently used.
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
    const set = compile(names);
    const entry = { set, plain: set.then((compiled) => compiled.plain) };
    cache.set(key, entry);
    // A failed compilation (database down) must not be served from the cache.
    entry.plain.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
    if (cache.size > maxCachedAcls) cache.delete(cache.keys().next().value!);
    return entry;
  }

  function templatedAcl(setKey: string, set: PolicySetAcl, identity: PolicyIdentity, since: number): Acl {
    const resolved = set.resolve(identity);
    if (resolved.key === undefined) return set.plain;
    const key = `${setKey}\u0000${resolved.key}`;
    const cached = templatedCache.get(key);
    if (cached) {
      templatedCache.delete(key);
      templatedCache.set(key, cached);
      return cached;
    }
    const acl = resolved.build();
    if (epoch === since) {
      templatedCache.set(key, acl);
      if (templatedCache.size > maxCachedTemplatedAcls) templatedCache.delete(templatedCache.keys().next().value!);
    }
    return acl;
  }

  /** Everything a write checks, in the order it checks it: the dry run and the write can never disagree. */
  function validate(name: string, text: string): { policy: string; source: PolicySource } {
    const policy = policyName(name);
    if (policy === ROOT_POLICY) throw invalid('the root policy cannot be changed');
    if (typeof text !== 'string' || text.trim() === '') throw invalid('policy text is empty');
    return { policy, source: parsePolicySource(text) };
  }

  return {
    async write(name, text) {
      const { policy, source } = validate(name, text);
      invalidate(await repository.put(policy, text, clock()));
      return { name: policy, rules: source.rules, raw: text };
    },

    check(name, text) {
      const { policy, source } = validate(name, text);
      return {
        name: policy,
        rules: source.rules.map((rule, i) => ({ ...rule, ...source.positions[i]! })),
      };
    },

    draftAcl(name, text) {
      const { policy, source } = validate(name, text);
      // Templated rules are compiled but, without an identity to resolve them for, grant nothing (as for `acl`).
      return compilePolicySet([{ name: policy, ...source }]).plain;
    },

    async read(name): Promise<PolicyDocument> {
      const policy = policyName(name);
      if (policy === ROOT_POLICY) return { name: ROOT_POLICY, rules: [], raw: '' };
      const row = await repository.get(policy);
      if (!row) throw notFound(`no policy named "${policy}"`);
      return { name: policy, rules: parsePolicy(row.raw, { stored: true }), raw: row.raw };
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

    async acl(policyNames, identity) {
      const names = [
        ...new Set(policyNames.filter((n) => typeof n === 'string' && NAME.test(n)).map((n) => n.toLowerCase())),
      ].sort();
      if (names.includes(ROOT_POLICY)) return rootAcl();
      maybeRefresh();
      const key = names.join('\n');
      const since = epoch;
      const entry = policySet(key, names);
      if (!identity) return entry.plain;
      const set = await entry.set;
      if (!set.templated) return set.plain;
      return templatedAcl(key, set, identity, since);
    },

    refresh,
  };
}
