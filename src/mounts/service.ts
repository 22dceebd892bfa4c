import { randomBytes, randomUUID } from 'node:crypto';
import { invalid, notFound } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { RESERVED_MOUNT_PREFIXES, mountsOverlap, normalizeMountPath } from './paths.js';
import { createMountsRepository, type MountTableName } from './repository.js';
import type { Mount, MountService, MountType, MountTypeCatalog } from './types.js';

/**
 * The two mount tables Vault has: secrets engines (sys/mounts, table `mounts`) and auth methods (sys/auth, table
 * `auth_mounts`, paths relative to `auth/`). One service, two instances: same path rules, overlap check, caching and
 * purge hooks; they differ in reserved prefixes, accessor form and wording.
 */
export interface MountTableSpec {
  table: MountTableName;
  /** Path prefixes no mount may take. */
  reserved: readonly string[];
  /** Accessor prefix before the type ('' → 'kv_1a2b3c4d'; 'auth_' → 'auth_approle_1a2b3c4d'). */
  accessorPrefix: string;
  /** For errors: 'secret engine', 'auth method'. */
  noun: string;
}

export const SECRET_MOUNTS: MountTableSpec = {
  table: 'mounts',
  reserved: RESERVED_MOUNT_PREFIXES,
  accessorPrefix: '',
  noun: 'secret engine',
};
export const AUTH_MOUNTS: MountTableSpec = {
  table: 'auth_mounts',
  reserved: [],
  accessorPrefix: 'auth_',
  noun: 'auth method',
};

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

export interface MountServiceDeps {
  storage: Storage;
  /** Which types may be mounted and how their options are checked (the module registry). */
  catalog: MountTypeCatalog;
  /** Default: the secrets-engine table. */
  table?: MountTableSpec;
}

export function createMountService(deps: MountServiceDeps, options: MountServiceOptions = {}): MountService {
  const spec = deps.table ?? SECRET_MOUNTS;
  const { catalog } = deps;
  const repo = createMountsRepository(deps.storage, spec.table);
  const normalizePath = (input: string) => normalizeMountPath(input, spec.reserved);
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

  function checkStrings(input: Record<string, string> | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(input ?? {})) {
      if (typeof value !== 'string')
        throw invalid(`mount option ${key} must be a string`, { reason: 'mount_option_type' });
      out[key] = value;
    }
    return out;
  }

  return {
    async enable(input) {
      const path = normalizePath(input.path);
      const known = typeof input.type === 'string' ? catalog.lookup(input.type) : undefined;
      if (!known) throw invalid(`unknown ${spec.noun} type: ${String(input.type)}`, { reason: 'mount_type' });
      if (catalog.isFixed(known.type)) {
        throw invalid(`the ${known.type} ${spec.noun} exists once, at a fixed path, and cannot be enabled`, {
          reason: 'mount_type_fixed',
        });
      }
      const type = known.type;
      const description = input.description ?? '';
      if (typeof description !== 'string')
        throw invalid('description must be a string', { reason: 'mount_description' });
      const mount: Mount = {
        path,
        type,
        uuid: randomUUID(),
        accessor: `${spec.accessorPrefix}${type}_${randomBytes(4).toString('hex')}`,
        description,
        options: catalog.normalizeOptions(type, { ...known.preset, ...checkStrings(input.options) }),
        createdAt: now(),
      };
      try {
        await repo.exclusively(async (tx) => {
          const existing = await tx.listAll();
          const clash = existing.find((m) => mountsOverlap(m.path, path));
          if (clash) {
            throw invalid(`path is already in use at ${clash.path}`, {
              reason: 'mount_path_in_use',
              existing: clash.path,
            });
          }
          await tx.insert(mount);
        });
      } finally {
        invalidate();
      }
      return mount;
    },

    async disable(input) {
      const path = normalizePath(input);
      const mounts = await repo.listAll();
      const mount = mounts.find((m) => m.path === path);
      // Disabling what is not there is a no-op, as in Vault: the caller's intent (no such mount) already holds.
      if (!mount) return;
      if (catalog.isFixed(mount.type)) {
        throw invalid(`the ${mount.type} ${spec.noun} at ${mount.path} cannot be disabled`, { reason: 'mount_fixed' });
      }
      // Purge first, then forget the mount: if a purge fails the mount is still listed and disable can be retried,
      // instead of leaving records behind that no mount owns.
      for (const purge of purgeHooks.get(mount.type) ?? []) await purge(mount);
      try {
        await repo.exclusively((tx) => tx.remove(path));
      } finally {
        invalidate();
      }
    },

    async tuneOptions(input, options, description, config) {
      const path = normalizePath(input);
      let result: { mount: Mount; changed: string[] } | undefined;
      try {
        await repo.exclusively(async (tx) => {
          const mount = (await tx.listAll()).find((m) => m.path === path);
          if (!mount) throw notFound(`no mount at "${path}"`);
          const next = catalog.normalizeOptions(
            mount.type,
            { ...mount.options, ...checkStrings(options) },
            mount.options,
          );
          const changed = Object.keys(next).filter((key) => next[key] !== mount.options[key]);
          if (changed.length > 0) await tx.setOptions(path, next);
          let tuned: Mount = { ...mount, options: next };
          if (description !== undefined && description !== mount.description) {
            await tx.setDescription(path, description);
            tuned = { ...tuned, description };
            changed.push('description');
          }
          const sections = Object.entries(config ?? {}).filter(([, value]) => value !== undefined);
          if (sections.length > 0) {
            const nextConfig = { ...(mount.config ?? {}), ...Object.fromEntries(sections) };
            if (JSON.stringify(nextConfig) !== JSON.stringify(mount.config ?? {})) {
              await tx.setConfig(path, nextConfig);
              tuned = { ...tuned, config: nextConfig };
              changed.push(...sections.map(([key]) => key));
            }
          }
          result = { mount: tuned, changed };
        });
      } finally {
        invalidate();
      }
      return result!;
    },

    forgetCached: invalidate,

    async list() {
      return repo.listAll();
    },

    async ensureFixed(input) {
      // A fixed module's path is reserved against enable, so nothing else can hold it; only its own row may be missing.
      try {
        await repo.exclusively(async (tx) => {
          if ((await tx.listAll()).some((m) => m.path === input.path)) return;
          await tx.insert({
            path: input.path,
            type: input.type,
            uuid: randomUUID(),
            accessor: `${spec.accessorPrefix}${input.type}_${randomBytes(4).toString('hex')}`,
            description: input.description,
            options: {},
            createdAt: now(),
          });
        });
      } finally {
        invalidate();
      }
    },

    async resolve(requestPath) {
      const current = snapshot && now() - snapshot.loadedAt < refreshAfterMs ? snapshot : await reload();
      for (const mount of current.byLength) {
        if (requestPath.startsWith(mount.path)) return { mount, rest: requestPath.slice(mount.path.length) };
        // 'secret' (no trailing slash) addresses the mount root.
        if (requestPath.length === mount.path.length - 1 && mount.path.startsWith(requestPath))
          return { mount, rest: '' };
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
