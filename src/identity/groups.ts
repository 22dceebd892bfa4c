import { randomUUID } from 'node:crypto';
import { invalid } from '../shared/errors.js';
import { generatedName, type IdentityContext } from './context.js';
import { lookupKind } from './entities.js';
import type { Group, GroupAlias, GroupAliasWrite, GroupWrite, IdentityStore } from './model.js';
import { ancestorsOf, groupAliasOf, loadGroup } from './records.js';
import type { GroupAliasRow, GroupRow, IdentityQueries, IdentityWrites } from './repository.js';
import { MAX_MEMBER_ENTITIES, checkMetadata, checkName, checkPolicies, dedupe, isId } from './validation.js';

type GroupOperations = Pick<
  IdentityStore,
  | 'writeGroup'
  | 'readGroup'
  | 'listGroups'
  | 'deleteGroup'
  | 'writeGroupAlias'
  | 'readGroupAlias'
  | 'listGroupAliases'
  | 'deleteGroupAlias'
  | 'lookupGroup'
>;

/**
 * Groups (Vault's identity/group*, group-alias*, lookup/group). Internal groups list their members; external groups
 * get theirs from logins, through their one group alias on an auth mount. Member groups make parents: an entity in
 * a member group holds the parent's policies too. A membership that would make a cycle is refused.
 */
export function createGroupOperations(ctx: IdentityContext): GroupOperations {
  const { reads } = ctx;
  const mountOf = (accessor: string) => ctx.mounts.byAccessor(accessor);

  async function rowBy(q: IdentityQueries, by: { id: string } | { name: string }): Promise<GroupRow | undefined> {
    if ('id' in by) return isId(by.id) ? q.groupById(by.id) : undefined;
    return q.groupByName(by.name);
  }

  const one = async (row: GroupRow | undefined): Promise<Group | undefined> =>
    row ? loadGroup(reads, row, mountOf) : undefined;

  async function checkMemberGroups(tx: IdentityWrites, groupId: string, ids: readonly string[]): Promise<string[]> {
    const members = dedupe(ids);
    // The group's ancestors (and itself) must not become its members: that would make a cycle.
    const above = new Set([groupId, ...(await ancestorsOf(tx, [groupId]))]);
    for (const id of members) {
      if (id === groupId) throw invalid(`member group ID "${id}" is same as the ID of the group`);
      if (!isId(id) || !(await tx.groupById(id))) throw invalid(`invalid member group ID "${id.slice(0, 64)}"`);
      if (above.has(id)) throw invalid(`cyclic relationship detected for member group ID "${id}"`);
    }
    return members;
  }

  async function checkMemberEntities(tx: IdentityWrites, ids: readonly string[]): Promise<string[]> {
    const members = dedupe(ids);
    if (members.length > MAX_MEMBER_ENTITIES)
      throw invalid(`member entity IDs exceeding the limit of ${MAX_MEMBER_ENTITIES}`);
    const found = new Set((await tx.entitiesByIds(members.filter(isId))).map((e) => e.id));
    for (const id of members) if (!found.has(id)) throw invalid(`invalid entity ID "${id.slice(0, 64)}"`);
    return members;
  }

  async function writeGroup(input: GroupWrite): Promise<Group> {
    const name = input.name !== undefined && input.name !== '' ? checkName('group', input.name) : undefined;
    const metadata = input.metadata && checkMetadata('metadata', input.metadata);
    const policies = input.policies && checkPolicies(input.policies);
    const id = await ctx.write(async (tx) => {
      let group: GroupRow | undefined;
      if (input.id !== undefined && input.id !== '') {
        group = isId(input.id) ? await tx.groupById(input.id) : undefined;
        if (!group) throw invalid('invalid group ID');
      }
      if (input.type !== undefined && input.type !== '' && group && input.type !== group.type)
        throw invalid('group type cannot be changed');
      const type = group?.type ?? (input.type || 'internal');
      if (type !== 'internal' && type !== 'external') throw invalid(`invalid group type "${type.slice(0, 32)}"`);
      if (name !== undefined) {
        const byName = await tx.groupByName(name);
        if (byName && byName.id !== group?.id) throw invalid('group name is already in use');
      }
      if (type === 'external' && input.memberEntityIds !== undefined)
        throw invalid("member entities can't be set manually for external groups");
      if (type === 'external' && input.memberGroupIds !== undefined)
        throw invalid("member groups can't be set for external groups");
      const now = ctx.clock();
      const groupId = group?.id ?? randomUUID();
      if (group) {
        await tx.updateGroup(groupId, {
          ...(name !== undefined ? { name } : {}),
          ...(metadata ? { metadata: JSON.stringify(metadata) } : {}),
          ...(policies ? { policies: JSON.stringify(policies) } : {}),
          modify_index: Number(group.modify_index) + 1,
          updated_at: now,
        });
      } else {
        await tx.insertGroup({
          id: groupId,
          name: name ?? generatedName('group', groupId),
          type,
          metadata: JSON.stringify(metadata ?? {}),
          policies: JSON.stringify(policies ?? []),
          modify_index: 1,
          created_at: now,
          updated_at: now,
        });
      }
      if (input.memberEntityIds !== undefined)
        await tx.setMemberEntities(groupId, await checkMemberEntities(tx, input.memberEntityIds));
      if (input.memberGroupIds !== undefined)
        await tx.setMemberGroups(groupId, await checkMemberGroups(tx, groupId, input.memberGroupIds));
      return groupId;
    });
    const group = await one(await reads.groupById(id));
    if (!group) throw new Error('group vanished after its write');
    return group;
  }

  async function writeGroupAlias(input: GroupAliasWrite) {
    const row = await ctx.write(async (tx) => {
      let alias: GroupAliasRow | undefined;
      if (input.id !== undefined && input.id !== '') {
        alias = isId(input.id) ? await tx.groupAliasById(input.id) : undefined;
        if (!alias) throw invalid('invalid group alias ID');
      }
      const name = input.name !== undefined && input.name !== '' ? checkName('alias', input.name) : alias?.name;
      if (name === undefined) throw invalid('missing alias name');
      const accessor = input.mountAccessor || alias?.mount_accessor;
      if (!accessor) throw invalid('missing mount_accessor');
      if (!(await mountOf(accessor))) throw invalid(`invalid mount accessor "${accessor.slice(0, 128)}"`);
      const canonicalId = input.canonicalId || alias?.canonical_id;
      const group = canonicalId && isId(canonicalId) ? await tx.groupById(canonicalId) : undefined;
      if (!group) throw invalid("invalid group ID given in 'canonical_id'");
      if (group.type !== 'external') throw invalid("alias can't be set on an internal group");
      const taken = await tx.groupAliasByFactors(accessor, name);
      if (taken && taken.id !== alias?.id) throw invalid('combination of mount and group alias name is already in use');
      const held = await tx.groupAliasOf(group.id);
      if (held && held.id !== alias?.id) throw invalid('group already has an alias');
      const now = ctx.clock();
      if (alias) {
        const set = { name, mount_accessor: accessor, canonical_id: group.id, updated_at: now };
        await tx.updateGroupAlias(alias.id, set);
        return { ...alias, ...set };
      }
      const created: GroupAliasRow = {
        id: randomUUID(),
        canonical_id: group.id,
        mount_accessor: accessor,
        name,
        created_at: now,
        updated_at: now,
      };
      await tx.insertGroupAlias(created);
      return created;
    });
    return groupAliasOf(row, await mountOf(row.mount_accessor));
  }

  return {
    writeGroup,
    readGroup: async (by) => one(await rowBy(reads, by)),
    async listGroups() {
      const groups: Group[] = [];
      for (const row of await reads.allGroups()) groups.push(await loadGroup(reads, row, mountOf));
      return groups;
    },
    async deleteGroup(by) {
      const row = await rowBy(reads, by);
      // Memberships, parent links and the alias go with the group (foreign keys cascade).
      if (row) await ctx.write((tx) => tx.deleteGroup(row.id));
    },
    writeGroupAlias,
    async readGroupAlias(id) {
      const row = isId(id) ? await reads.groupAliasById(id) : undefined;
      return row ? groupAliasOf(row, await mountOf(row.mount_accessor)) : undefined;
    },
    async listGroupAliases() {
      const out: GroupAlias[] = [];
      for (const row of await reads.allGroupAliases()) out.push(groupAliasOf(row, await mountOf(row.mount_accessor)));
      return out;
    },
    async deleteGroupAlias(id) {
      if (isId(id)) await ctx.write((tx) => tx.deleteGroupAlias(id));
    },
    async lookupGroup(criteria) {
      const by = lookupKind(criteria);
      if (by.kind === 'id') return one(isId(by.id) ? await reads.groupById(by.id) : undefined);
      if (by.kind === 'name') return one(await reads.groupByName(by.name));
      const alias =
        by.kind === 'alias_id'
          ? isId(by.id)
            ? await reads.groupAliasById(by.id)
            : undefined
          : await reads.groupAliasByFactors(by.accessor, by.name);
      return one(alias ? await reads.groupById(alias.canonical_id) : undefined);
    },
  };
}
