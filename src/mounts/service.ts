import { randomBytes, randomUUID } from 'node:crypto';
import { invalid, notFound } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { mountsOverlap, normalizeMountPath } from './paths.js';
import { createMountsRepository } from './repository.js';
import type { Mount, MountService, MountType } from './types.js';

const MOUNT_TYPES: ReadonlySet<MountType> = new Set(['kv', 'transit']);

/**
 * Engine options Strongroom fills in when the caller leaves them out. A kv mount without a version is version 1, as
 * in Vault (`kv-v2`, or `options.version: "2"`, asks for version 2; the dev server's `secret/` asks for it).
 */
const DEFAULT_OPTIONS: Record<MountType, Record<string, string>> = {
  kv: { version: '1' },
  transit: {},
};
const KV_VERSIONS: ReadonlySet<string> = new Set(['1', '2']);

export interface MountServiceOptions {
  /**
   * How long the in-memory mount table is trusted before resolve() re-reads it. Another replica sharing the
   * database may enable or disable mounts; this bounds how long this process can route with a stale table.
   */
  refreshAfterMs?: number;
  now?: () => number;
}

interface Snapshot {
  /** Longest path first, so the first prefix match is the most specific mount. */
  byLength: Mount[];
  loadedAt: number;
}

export function createMountService(deps: { storage: Storage }, options: MountServiceOptions = {}): MountService {
  const repo = createMountsRepository(deps.storage);
  const refreshAfterMs = options.refreshAfterMs ?? 5_000;
  const now = options.now ?? Date.now;
  const purgeHooks = new Map<MountType, Array<(mount: Mount) => Promise<void>>>();

  let snapshot: Snapshot | null = null;
  // One shared reload at a time: a burst of requests after expiry triggers a single query.
  let loading: Promise<Snapshot> | null = null;
  // Bumped on every local change so a reload that started before it cannot install a stale table.
  let generation = 0;

  function install(mounts: Mount[], loadedAt: number): Snapshot {
    const byLength = [...mounts].sort((a, b) => b.path.length - a.path.length);
    return { byLength, loadedAt };
  }

  function reload(): Promise<Snapshot> {
    if (loading) return loading;
    const startedGeneration = generation;
    const startedAt = now();
    loading = repo
      .listAll()
      .then((mounts) => {
        const fresh = install(mounts, startedAt);
        if (startedGeneration === generation) snapshot = fresh;
        return fresh;
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  function invalidate(): void {
    generation += 1;
    snapshot = null;
  }

  function normalizeOptions(type: MountType, input: Record<string, string> | undefined): Record<string, string> {
    const merged: Record<string, string> = { ...DEFAULT_OPTIONS[type] };
    for (const [key, value] of Object.entries(input ?? {})) {
      if (typeof value !== 'string') throw invalid(`mount option ${key} must be a string`, { reason: 'mount_option_type' });
      merged[key] = value;
    }
    if (type === 'kv' && !KV_VERSIONS.has(merged.version!)) {
      throw invalid('the kv engine has versions "1" and "2" (options.version)', { reason: 'kv_version' });
    }
    return merged;
  }

  return {
    async enable(input) {
      const path = normalizeMountPath(input.path);
      if (!MOUNT_TYPES.has(input.type)) {
        throw invalid(`unknown secret engine type: ${String(input.type)}`, { reason: 'mount_type' });
      }
      const description = input.description ?? '';
      if (typeof description !== 'string') throw invalid('description must be a string', { reason: 'mount_description' });
      const mount: Mount = {
        path,
        type: input.type,
        uuid: randomUUID(),
        accessor: `${input.type}_${randomBytes(4).toString('hex')}`,
        description,
        options: normalizeOptions(input.type, input.options),
        createdAt: now(),
      };
      try {
        await repo.exclusively(async (tx) => {
          const existing = await tx.listAll();
          const clash = existing.find((m) => mountsOverlap(m.path, path));
          if (clash) {
            throw invalid(`path is already in use at ${clash.path}`, { reason: 'mount_path_in_use', existing: clash.path });
          }
          await tx.insert(mount);
        });
      } finally {
        invalidate();
      }
      return mount;
    },

    async disable(input) {
      const path = normalizeMountPath(input);
      const mounts = await repo.listAll();
      const mount = mounts.find((m) => m.path === path);
      // Disabling what is not there is a no-op, as in Vault: the caller's intent (no such mount) already holds.
      if (!mount) return;
      // Purge first, then forget the mount: if a purge fails the mount is still listed and disable can be retried,
      // instead of leaving records behind that no mount owns.
      for (const purge of purgeHooks.get(mount.type) ?? []) await purge(mount);
      try {
        await repo.exclusively((tx) => tx.remove(path));
      } finally {
        invalidate();
      }
    },

    async tuneOptions(input, options) {
      const path = normalizeMountPath(input);
      let result: { mount: Mount; changed: string[] } | undefined;
      try {
        await repo.exclusively(async (tx) => {
          const mount = (await tx.listAll()).find((m) => m.path === path);
          if (!mount) throw notFound(`no mount at "${path}"`);
          const merged = { ...mount.options };
          for (const [key, value] of Object.entries(options)) {
            if (typeof value !== 'string') throw invalid(`mount option ${key} must be a string`, { reason: 'mount_option_type' });
            merged[key] = value;
          }
          const next = normalizeOptions(mount.type, merged);
          // Vault upgrades a kv mount from 1 to 2 and never back: v2's history has no v1 form.
          if (mount.type === 'kv' && mount.options.version === '2' && next.version === '1') {
            throw invalid('a KV version 2 mount cannot be downgraded to version 1', { reason: 'kv_downgrade' });
          }
          const changed = Object.keys(next).filter((key) => next[key] !== mount.options[key]);
          if (changed.length > 0) await tx.setOptions(path, next);
          result = { mount: { ...mount, options: next }, changed };
        });
      } finally {
        invalidate();
      }
      return result!;
    },

    async list() {
      return repo.listAll();
    },

    async resolve(requestPath) {
      const current = snapshot && now() - snapshot.loadedAt < refreshAfterMs ? snapshot : await reload();
      for (const mount of current.byLength) {
        if (requestPath.startsWith(mount.path)) return { mount, rest: requestPath.slice(mount.path.length) };
        // 'secret' (no trailing slash) addresses the mount root.
        if (requestPath.length === mount.path.length - 1 && mount.path.startsWith(requestPath)) return { mount, rest: '' };
      }
      return null;
    },

    onDisable(type, purge) {
      const hooks = purgeHooks.get(type) ?? [];
      hooks.push(purge);
      purgeHooks.set(type, hooks);
    },
  };
}
