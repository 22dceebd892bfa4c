import type { IdentityResolver, LoginMount } from './types.js';

/**
 * The identity store's records, as its HTTP paths show and change them (Vault's identity secrets engine:
 * https://developer.hashicorp.com/vault/api-docs/secret/identity). Times are epoch milliseconds.
 */
export interface EntityAlias {
  id: string;
  /** The entity the alias belongs to. */
  canonicalId: string;
  mountAccessor: string;
  mountType: string;
  /** 'auth/<path>/' as Vault shows it. */
  mountPath: string;
  name: string;
  /** What the auth method vouched for at the last login; replaced on each login. */
  metadata: Record<string, string>;
  /** Set through the API only; logins never touch it. */
  customMetadata: Record<string, string>;
  mergedFromCanonicalIds: string[];
  createdAt: number;
  updatedAt: number;
}

export interface Entity {
  id: string;
  name: string;
  metadata: Record<string, string>;
  policies: string[];
  disabled: boolean;
  mergedEntityIds: string[];
  createdAt: number;
  updatedAt: number;
  aliases: EntityAlias[];
  /** Groups listing the entity as a member (internal) or holding it through a group alias (external). */
  directGroupIds: string[];
  /** Parents of the direct groups, and their parents, ... (not repeating a direct group). */
  inheritedGroupIds: string[];
}

export type GroupType = 'internal' | 'external';

export interface GroupAlias {
  id: string;
  canonicalId: string;
  mountAccessor: string;
  mountType: string;
  mountPath: string;
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface Group {
  id: string;
  name: string;
  type: GroupType;
  metadata: Record<string, string>;
  policies: string[];
  memberEntityIds: string[];
  memberGroupIds: string[];
  parentGroupIds: string[];
  /** External groups only: the name the identity provider calls it by, on one auth mount. */
  alias: GroupAlias | undefined;
  modifyIndex: number;
  createdAt: number;
  updatedAt: number;
}

/** A write of an entity: fields left undefined keep their value (Vault's update semantics). */
export interface EntityWrite {
  id?: string;
  name?: string;
  metadata?: Record<string, string>;
  policies?: string[];
  disabled?: boolean;
}

export interface EntityAliasWrite {
  id?: string;
  name?: string;
  canonicalId?: string;
  mountAccessor?: string;
  customMetadata?: Record<string, string>;
}

export interface GroupWrite {
  id?: string;
  name?: string;
  type?: string;
  metadata?: Record<string, string>;
  policies?: string[];
  memberEntityIds?: string[];
  memberGroupIds?: string[];
}

export interface GroupAliasWrite {
  id?: string;
  name?: string;
  mountAccessor?: string;
  canonicalId?: string;
}

/** Vault's lookup/entity and lookup/group criteria: exactly one of id, name, alias id, alias name + mount accessor. */
export interface LookupCriteria {
  id?: string;
  name?: string;
  aliasId?: string;
  aliasName?: string;
  aliasMountAccessor?: string;
}

/** Where the identity store learns which auth mounts exist (aliases must name one by its accessor). */
export interface AuthMountDirectory {
  byAccessor(accessor: string): Promise<LoginMount | undefined>;
}

/**
 * The whole identity store: the login/ACL contract (IdentityResolver) plus what the identity/ paths do. Errors:
 * 'invalid' (400) with Vault's words for bad input; reads answer undefined for a missing record (Vault's empty 404).
 */
export interface IdentityStore extends IdentityResolver {
  writeEntity(input: EntityWrite): Promise<{ entity: Entity; created: boolean }>;
  /** entity/id/<id> POST: the entity must exist ("entity not found from id"). */
  updateEntityById(id: string, input: Omit<EntityWrite, 'id'>): Promise<void>;
  readEntity(by: { id: string } | { name: string }): Promise<Entity | undefined>;
  listEntities(): Promise<Entity[]>;
  /** Idempotent. Its aliases go with it; it leaves every group. */
  deleteEntity(by: { id: string } | { name: string }): Promise<void>;
  batchDeleteEntities(ids: readonly string[]): Promise<void>;
  mergeEntities(input: {
    fromEntityIds: string[];
    toEntityId: string;
    conflictingAliasIdsToKeep?: string[];
    force?: boolean;
  }): Promise<void>;

  writeEntityAlias(input: EntityAliasWrite): Promise<{ alias: EntityAlias; created: boolean }>;
  readEntityAlias(id: string): Promise<EntityAlias | undefined>;
  listEntityAliases(): Promise<EntityAlias[]>;
  deleteEntityAlias(id: string): Promise<void>;

  writeGroup(input: GroupWrite): Promise<Group>;
  readGroup(by: { id: string } | { name: string }): Promise<Group | undefined>;
  listGroups(): Promise<Group[]>;
  deleteGroup(by: { id: string } | { name: string }): Promise<void>;

  writeGroupAlias(input: GroupAliasWrite): Promise<GroupAlias>;
  readGroupAlias(id: string): Promise<GroupAlias | undefined>;
  listGroupAliases(): Promise<GroupAlias[]>;
  deleteGroupAlias(id: string): Promise<void>;

  lookupEntity(criteria: LookupCriteria): Promise<Entity | undefined>;
  lookupGroup(criteria: LookupCriteria): Promise<Group | undefined>;

  /** An auth mount was disabled: its entity aliases and group aliases go, as in Vault. */
  mountDisabled(accessor: string): Promise<void>;
  /** Checks now whether another replica changed identity, dropping cached snapshots if so. */
  refresh(): Promise<void>;
}
