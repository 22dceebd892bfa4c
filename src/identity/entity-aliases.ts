import { randomUUID } from 'node:crypto';
import { invalid } from '../shared/errors.js';
import { generatedName, type IdentityContext } from './context.js';
import type { EntityAlias, EntityAliasWrite, IdentityStore } from './model.js';
import { aliasOf } from './records.js';
import type { EntityAliasRow, IdentityWrites } from './repository.js';
import { checkMetadata, checkName, isId } from './validation.js';

type AliasOperations = Pick<
  IdentityStore,
  'writeEntityAlias' | 'readEntityAlias' | 'listEntityAliases' | 'deleteEntityAlias'
>;

/**
 * Entity aliases through the API (Vault's identity/entity-alias): an operator ties a name on an auth mount to an
 * entity before (or instead of) the first login. Logins maintain `metadata`; the API only `custom_metadata`.
 */
export function createAliasOperations(ctx: IdentityContext): AliasOperations {
  const { reads } = ctx;

  async function entityFor(tx: IdentityWrites, canonicalId: string | undefined, now: number): Promise<string> {
    if (canonicalId !== undefined && canonicalId !== '') {
      if (!isId(canonicalId) || !(await tx.entityById(canonicalId))) throw invalid('invalid canonical ID');
      return canonicalId;
    }
    // As Vault: an alias written without an entity gets a new one.
    const id = randomUUID();
    await tx.insertEntity({
      id,
      name: generatedName('entity', id),
      metadata: '{}',
      policies: '[]',
      disabled: 0,
      merged_entity_ids: '[]',
      created_at: now,
      updated_at: now,
    });
    return id;
  }

  /** One alias per mount in an entity (Vault's invariant: a mount knows a caller by one name). */
  async function refuseSecondAliasOnMount(tx: IdentityWrites, entityId: string, accessor: string, self?: string) {
    const others = (await tx.aliasesOf([entityId])).filter((a) => a.mount_accessor === accessor && a.id !== self);
    if (others.length > 0) throw invalid('alias already exists for requested entity and mount accessor');
  }

  async function update(tx: IdentityWrites, alias: EntityAliasRow, input: EntityAliasWrite): Promise<EntityAliasRow> {
    const now = ctx.clock();
    const name = input.name !== undefined && input.name !== '' ? checkName('alias', input.name) : alias.name;
    let accessor = alias.mount_accessor;
    let mount = { type: alias.mount_type, path: alias.mount_path };
    if (input.mountAccessor !== undefined && input.mountAccessor !== '' && input.mountAccessor !== accessor) {
      const found = await ctx.mounts.byAccessor(input.mountAccessor);
      if (!found) throw invalid(`invalid mount accessor "${input.mountAccessor.slice(0, 128)}"`);
      accessor = input.mountAccessor;
      mount = { type: found.type, path: `auth/${found.path}` };
    }
    if (name !== alias.name || accessor !== alias.mount_accessor) {
      const taken = await tx.aliasByFactors(accessor, name);
      if (taken && taken.id !== alias.id)
        throw invalid('alias with combination of mount accessor and name already exists');
    }
    const canonicalId =
      input.canonicalId !== undefined && input.canonicalId !== '' ? input.canonicalId : alias.canonical_id;
    if (canonicalId !== alias.canonical_id && (!isId(canonicalId) || !(await tx.entityById(canonicalId))))
      throw invalid('invalid canonical ID');
    await refuseSecondAliasOnMount(tx, canonicalId, accessor, alias.id);
    const set = {
      name,
      mount_accessor: accessor,
      mount_type: mount.type,
      mount_path: mount.path,
      canonical_id: canonicalId,
      ...(input.customMetadata
        ? { custom_metadata: JSON.stringify(checkMetadata('custom_metadata', input.customMetadata)) }
        : {}),
      updated_at: now,
    };
    await tx.updateAlias(alias.id, set);
    return { ...alias, ...set };
  }

  return {
    async writeEntityAlias(input) {
      const result = await ctx.write(async (tx) => {
        if (input.id !== undefined && input.id !== '') {
          const alias = isId(input.id) ? await tx.aliasById(input.id) : undefined;
          if (!alias) throw invalid('invalid alias ID provided');
          return { row: await update(tx, alias, input), created: false };
        }
        if (input.name === undefined || input.name === '') throw invalid("'name' is a required parameter");
        if (input.mountAccessor === undefined || input.mountAccessor === '')
          throw invalid("'mount_accessor' is a required parameter");
        // Vault: a write naming an existing (mount, name) pair updates that alias.
        const existing = await tx.aliasByFactors(input.mountAccessor, input.name);
        if (existing) return { row: await update(tx, existing, input), created: false };
        const mount = await ctx.mounts.byAccessor(input.mountAccessor);
        if (!mount) throw invalid(`invalid mount accessor "${input.mountAccessor.slice(0, 128)}"`);
        const now = ctx.clock();
        const canonicalId = await entityFor(tx, input.canonicalId, now);
        await refuseSecondAliasOnMount(tx, canonicalId, input.mountAccessor);
        const row: EntityAliasRow = {
          id: randomUUID(),
          canonical_id: canonicalId,
          mount_accessor: input.mountAccessor,
          mount_type: mount.type,
          mount_path: `auth/${mount.path}`,
          name: checkName('alias', input.name),
          metadata: '{}',
          custom_metadata: JSON.stringify(checkMetadata('custom_metadata', input.customMetadata ?? {})),
          merged_from_canonical_ids: '[]',
          created_at: now,
          updated_at: now,
        };
        await tx.insertAlias(row);
        return { row, created: true };
      });
      return { alias: aliasOf(result.row), created: result.created };
    },
    async readEntityAlias(id) {
      const row = isId(id) ? await reads.aliasById(id) : undefined;
      return row ? aliasOf(row) : undefined;
    },
    listEntityAliases: async (): Promise<EntityAlias[]> => (await reads.allAliases()).map(aliasOf),
    async deleteEntityAlias(id) {
      if (!isId(id)) return;
      await ctx.write((tx) => tx.deleteAlias(id));
    },
  };
}
