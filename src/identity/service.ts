import { randomUUID } from 'node:crypto';
import type { Storage } from '../storage/database.js';
import { generatedName, type IdentityContext } from './context.js';
import { createEntityOperations } from './entities.js';
import { createGroupOperations } from './groups.js';
import type { AuthMountDirectory, IdentityStore } from './model.js';
import { ancestorsOf, aliasOf, parseList, parseMap } from './records.js';
import { createIdentityRepository, type IdentityQueries } from './repository.js';
import { createSnapshotCache } from './snapshot-cache.js';
import type { AliasFacts, IdentitySnapshot, LoginMount } from './types.js';

export interface IdentityServiceDeps {
  storage: Pick<Storage, 'db'>;
  /** Epoch milliseconds; injectable so tests can move time. */
  clock?: () => number;
  /** Which auth mounts exist (aliases name one by accessor). Without it no accessor is valid for API writes. */
  mounts?: AuthMountDirectory;
  /** How often the hot path looks for other replicas' writes (default 2000 ms, as the policy cache). */
  refreshIntervalMs?: number;
}

const NO_MOUNTS: AuthMountDirectory = { byAccessor: async () => undefined };

/**
 * The identity store (Vault's identity secrets engine): entities, aliases, internal and external groups. Logins
 * resolve their alias here (creating the entity on first login); every request of a token with an entity reads the
 * entity's snapshot from memory (see snapshot-cache.ts).
 */
export function createIdentityService(deps: IdentityServiceDeps): IdentityStore {
  const repo = createIdentityRepository(deps.storage);
  const clock = deps.clock ?? Date.now;
  const reads = repo.reads;
  const cache = createSnapshotCache({
    load: (id) => loadSnapshot(reads, id),
    generation: () => reads.generation(),
    clock,
    refreshIntervalMs: deps.refreshIntervalMs ?? 2000,
  });
  const context: IdentityContext = {
    reads,
    clock,
    mounts: deps.mounts ?? NO_MOUNTS,
    async write(work) {
      const { result, generation } = await repo.write(work);
      cache.invalidate(generation);
      return result;
    },
  };

  async function resolveLogin(input: {
    mount: LoginMount;
    alias: AliasFacts;
    groupAliases?: string[];
  }): Promise<IdentitySnapshot> {
    const { mount, alias } = input;
    const mountPath = `auth/${mount.path}`;
    const metadata = JSON.stringify(sortedMap(alias.metadata));
    const wanted = input.groupAliases ? [...new Set(input.groupAliases)] : undefined;

    // Most logins change nothing: answer them without taking the write lock.
    const existing = await reads.aliasByFactors(mount.accessor, alias.name);
    if (
      existing &&
      existing.metadata === metadata &&
      existing.mount_type === mount.type &&
      existing.mount_path === mountPath &&
      (!wanted || (await externalGroupsChange(reads, existing.canonical_id, mount.accessor, wanted)) === null)
    ) {
      const snapshot = await loadSnapshot(reads, existing.canonical_id);
      if (snapshot) return snapshot;
    }

    const entityId = await context.write(async (tx) => {
      const now = clock();
      // Re-read under the lock: a concurrent first login of the same caller may have created it meanwhile.
      const current = await tx.aliasByFactors(mount.accessor, alias.name);
      let id: string;
      if (current) {
        id = current.canonical_id;
        await tx.updateAlias(current.id, { metadata, mount_type: mount.type, mount_path: mountPath, updated_at: now });
      } else {
        id = randomUUID();
        const name = (await tx.entityByName(generatedName('entity', id)))
          ? `entity_${id}`
          : generatedName('entity', id);
        await tx.insertEntity({
          id,
          name,
          metadata: '{}',
          policies: '[]',
          disabled: 0,
          merged_entity_ids: '[]',
          created_at: now,
          updated_at: now,
        });
        await tx.insertAlias({
          id: randomUUID(),
          canonical_id: id,
          mount_accessor: mount.accessor,
          mount_type: mount.type,
          mount_path: mountPath,
          name: alias.name,
          metadata,
          custom_metadata: '{}',
          merged_from_canonical_ids: '[]',
          created_at: now,
          updated_at: now,
        });
      }
      if (wanted) {
        const change = await externalGroupsChange(tx, id, mount.accessor, wanted);
        for (const groupId of change?.join ?? []) await tx.addMemberEntity(groupId, id);
        for (const groupId of change?.leave ?? []) await tx.removeMemberEntity(groupId, id);
      }
      return id;
    });
    const snapshot = await loadSnapshot(reads, entityId);
    // Deleted between the write and this read (an operator racing the login): no identity to log in as.
    if (!snapshot) throw new Error('the entity of this login was deleted while it logged in');
    return snapshot;
  }

  return {
    resolveLogin,
    snapshot: (entityId) => cache.get(entityId),
    refresh: () => cache.refresh(),
    async mountDisabled(accessor) {
      await context.write(async (tx) => {
        await tx.deleteAliasesOfMount(accessor);
        await tx.deleteGroupAliasesOfMount(accessor);
      });
    },
    ...createEntityOperations(context),
    ...createGroupOperations(context),
  };
}

/**
 * How the entity's external groups on this mount must change so that it is in exactly the groups whose alias on the
 * mount is one of `wanted`; null when they already match. External groups of other mounts are left alone.
 */
async function externalGroupsChange(
  reads: IdentityQueries,
  entityId: string,
  accessor: string,
  wanted: readonly string[],
): Promise<{ join: string[]; leave: string[] } | null> {
  const target = new Set((await reads.groupAliasesOnMount(accessor, wanted)).map((a) => a.canonical_id));
  const onMount = new Set((await reads.groupAliasesByAccessor(accessor)).map((a) => a.canonical_id));
  const current = new Set(
    (await reads.groupIdsOfEntities([entityId])).map((l) => l.group_id).filter((id) => onMount.has(id)),
  );
  const join = [...target].filter((id) => !current.has(id));
  const leave = [...current].filter((id) => !target.has(id));
  return join.length === 0 && leave.length === 0 ? null : { join, leave };
}

/** The entity as the ACL and templated policies see it: fresh from the database. */
export async function loadSnapshot(reads: IdentityQueries, entityId: string): Promise<IdentitySnapshot | undefined> {
  const row = await reads.entityById(entityId);
  if (!row) return undefined;
  const aliases = (await reads.aliasesOf([entityId])).map(aliasOf);
  const direct = (await reads.groupIdsOfEntities([entityId])).map((l) => l.group_id);
  const all = [...direct, ...(await ancestorsOf(reads, direct))];
  const groups = await reads.groupsByIds(all);
  return {
    entity: {
      id: row.id,
      name: row.name,
      metadata: parseMap(row.metadata),
      aliases: aliases.map((a) => ({
        id: a.id,
        name: a.name,
        mountAccessor: a.mountAccessor,
        metadata: a.metadata,
        customMetadata: a.customMetadata,
      })),
      disabled: Number(row.disabled) === 1,
      policies: parseList(row.policies),
    },
    groups: groups
      .map((g) => ({ id: g.id, name: g.name, metadata: parseMap(g.metadata), policies: parseList(g.policies) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/** Keys in order, so equal metadata always serializes the same (a login that changes nothing writes nothing). */
function sortedMap(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
