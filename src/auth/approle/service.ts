import { randomUUID } from 'node:crypto';
import type { Barrier } from '../../crypto/types.js';
import { constantTimeEqual, hmacSha256Hex } from '../../crypto/hmac.js';
import type { Storage } from '../../storage/database.js';
import { forbidden, invalid, notFound, sealedError } from '../../shared/errors.js';
import { nonNegativeInteger, sanitizePolicies, validateMeta } from '../token/format.js';
import type {
  AppRole,
  AppRoleService,
  AuthMountRef,
  GeneratedSecretId,
  SecretIdInfo,
  SecretIdOptions,
} from '../types.js';
import type { LoginService } from '../login.js';
import { anyCidrContains, cidrWithin, formatCidr, parseCidr } from '../cidr.js';
import { roleHardLimit } from '../role-token-fields.js';
import { createAppRoleRepository, type SecretIdRow, type StoredRole } from './repository.js';

export interface AppRoleDeps {
  storage: Pick<Storage, 'db'>;
  /** Completes a proven login: identity (entity and alias), login MFA, then the token. */
  logins: Pick<LoginService, 'complete'>;
  barrier: Pick<Barrier, 'isSealed' | 'deriveKey'>;
  /** Epoch ms. */
  clock?: () => number;
  /**
   * The auth mount served (its uuid scopes every role and secret-id; its path names the login on tokens). The server
   * passes the real mount; the default is a stand-in at approle/ for unit tests.
   */
  mount?: AuthMountRef;
}

const TEST_MOUNT: AuthMountRef = { uuid: 'approle', path: 'approle/', accessor: 'auth_approle_test', type: 'approle' };

const ROLE_NAME = /^[\w.-]{1,255}$/;
const MAX_CREDENTIAL_LENGTH = 512;
/** One answer for every bad credential: which half was wrong is exactly what an attacker wants to know. */
const refused = () => forbidden('invalid role ID or secret ID');
/** Vault's words for a role_id that another role holds (clients match it). */
const roleIdInUse = () => invalid('role_id already in use');
/** Vault's words for an accessor the role does not have; Terraform's provider matches this text. */
const noSuchAccessor = (accessor: string) =>
  notFound(`failed to find accessor entry for secret_id_accessor: ${JSON.stringify(accessor)}`);

type RoleSettings = Omit<AppRole, 'name' | 'roleId'>;

const DEFAULTS: RoleSettings = {
  bindSecretId: true,
  secretIdTtl: 0,
  secretIdNumUses: 0,
  tokenPolicies: [],
  tokenTtl: 0,
  tokenMaxTtl: 0,
  tokenExplicitMaxTtl: 0,
  tokenNumUses: 0,
  tokenPeriod: 0,
  secretIdBoundCidrs: [],
  tokenBoundCidrs: [],
};

export function createAppRoleService(deps: AppRoleDeps): AppRoleService {
  const mount = deps.mount ?? TEST_MOUNT;
  const repo = createAppRoleRepository(deps.storage, mount.uuid);
  const clock = deps.clock ?? Date.now;

  function hashSecretId(secretId: string): string {
    if (deps.barrier.isSealed()) throw sealedError();
    return hmacSha256Hex(deps.barrier.deriveKey('approle-secret-id'), secretId);
  }

  function toRole(stored: StoredRole): AppRole {
    return {
      name: stored.name,
      roleId: stored.roleId,
      ...DEFAULTS,
      ...(JSON.parse(stored.definition) as RoleSettings),
    };
  }

  async function loadRole(name: string): Promise<AppRole> {
    checkName(name);
    const stored = await repo.readRole(name);
    if (!stored) throw notFound(`role ${JSON.stringify(name)} does not exist`);
    return toRole(stored);
  }

  /**
   * Vault's common path for generated and custom secret-ids: the role must use secret-ids, and ttl, num_uses and
   * cidr_list may narrow the role's defaults but never widen them.
   */
  async function registerSecretId(
    name: string,
    secretId: string,
    meta: Record<string, string> | undefined,
    options: SecretIdOptions,
  ): Promise<GeneratedSecretId> {
    const role = await loadRole(name);
    if (!role.bindSecretId) throw invalid('bind_secret_id is not set on the role');
    const ttl = options.ttl === undefined ? role.secretIdTtl : nonNegativeInteger('ttl', options.ttl);
    if (role.secretIdTtl > 0 && (ttl === 0 || ttl > role.secretIdTtl))
      throw invalid("ttl cannot be longer than the role's secret_id_ttl");
    const numUses =
      options.numUses === undefined ? role.secretIdNumUses : nonNegativeInteger('num_uses', options.numUses);
    if (role.secretIdNumUses > 0 && (numUses === 0 || numUses > role.secretIdNumUses)) {
      throw invalid("num_uses cannot be higher than the role's secret_id_num_uses");
    }
    const cidrs = narrowedCidrs('cidr_list', options.cidrList, role.secretIdBoundCidrs, 'secret_id_bound_cidrs');
    const tokenCidrs = narrowedCidrs(
      'token_bound_cidrs',
      options.tokenBoundCidrs,
      role.tokenBoundCidrs,
      'token_bound_cidrs',
    );
    const accessor = randomUUID();
    const now = clock();
    const row: Omit<SecretIdRow, 'mount_uuid'> = {
      hash: hashSecretId(secretId),
      accessor,
      role_name: role.name,
      meta: JSON.stringify(validateMeta(meta)),
      cidr_list: JSON.stringify(cidrs),
      token_bound_cidrs: JSON.stringify(tokenCidrs),
      num_uses: numUses,
      creation_time: now,
      expire_time: ttl > 0 ? now + ttl * 1000 : 0,
    };
    // Secret-ids are stored by one store-wide HMAC, so a custom value equal to any live secret-id (this role's or
    // another's) is refused, in Vault's words; a generated UUID never collides in practice.
    if (!(await repo.insertSecretId(row))) throw invalid('SecretID is already registered');
    return { secretId, accessor, ttl, numUses };
  }

  /** Looks up, checks and spends one use of a secret-id; any failure is the same refusal. */
  async function redeemSecretId(
    role: AppRole,
    secretId: string,
    remoteAddress: string | undefined,
  ): Promise<SecretIdRow> {
    if (typeof secretId !== 'string' || secretId.length === 0 || secretId.length > MAX_CREDENTIAL_LENGTH)
      throw refused();
    const hash = hashSecretId(secretId);
    const row = await repo.findSecretId(role.name, hash);
    if (!row || !constantTimeEqual(row.hash, hash)) throw refused();
    if (row.expire_time > 0 && row.expire_time <= clock()) {
      await repo.deleteSecretId(role.name, hash);
      throw refused();
    }
    // Address first: a login from the wrong place must not burn one of the secret-id's uses. The role's blocks and
    // the secret-id's own both apply (as Vault): a role narrowed after the secret-id was issued still binds it.
    const cidrs = JSON.parse(row.cidr_list) as string[];
    for (const binding of [role.secretIdBoundCidrs, cidrs]) {
      if (binding.length > 0 && !anyCidrContains(binding, remoteAddress)) throw refused();
    }
    if (row.num_uses > 0 && (await repo.consumeSecretIdUse(hash)) === undefined) throw refused();
    return row;
  }

  return {
    async writeRole(input) {
      checkName(input?.name);
      const existing = await repo.readRole(input.name);
      const current: AppRole = existing ? toRole(existing) : { name: input.name, roleId: randomUUID(), ...DEFAULTS };
      const role = validateRole({ ...current, ...withoutUndefined(input) });
      const { name, roleId, ...settings } = role;
      const written = await repo.writeRole({ name, roleId, definition: JSON.stringify(settings) }, clock());
      if (!written) throw roleIdInUse();
    },

    async updateRoleId(name, roleId) {
      const role = await loadRole(name);
      if (typeof roleId !== 'string' || roleId.trim() === '') throw invalid('missing role_id');
      const { name: roleName, roleId: newRoleId, ...settings } = validateRole({ ...role, roleId });
      // The old role_id stops logging in at once: the row holds one role_id, so replacing it drops the old mapping.
      if (
        !(await repo.writeRole({ name: roleName, roleId: newRoleId, definition: JSON.stringify(settings) }, clock()))
      ) {
        throw roleIdInUse();
      }
    },

    readRole: loadRole,

    listRoles: () => repo.listRoles(),

    async deleteRole(name) {
      checkName(name);
      if (!(await repo.deleteRole(name))) throw notFound(`role "${name}" does not exist`);
    },

    async readRoleId(name) {
      return (await loadRole(name)).roleId;
    },

    generateSecretId: (name, meta, options = {}) => registerSecretId(name, randomUUID(), meta, options),

    async createCustomSecretId(name, secretId, meta, options = {}) {
      // Vault asks only for a non-empty value; the upper bound is what login accepts, so the secret-id stays usable.
      if (typeof secretId !== 'string' || secretId === '') throw invalid('missing secret_id');
      if (secretId.length > MAX_CREDENTIAL_LENGTH)
        throw invalid(`secret_id must be at most ${MAX_CREDENTIAL_LENGTH} characters`);
      return registerSecretId(name, secretId, meta, options);
    },

    async destroySecretId(name, secretId) {
      checkName(name);
      if (typeof secretId !== 'string' || secretId.length === 0) throw invalid('missing secret_id');
      if (secretId.length > MAX_CREDENTIAL_LENGTH) throw invalid('secret_id is malformed');
      await repo.deleteSecretId(name, hashSecretId(secretId));
    },

    async destroySecretIdAccessor(name, accessor) {
      const role = await loadRole(name);
      checkAccessor(accessor);
      // Vault fails on an unknown accessor (with a 500); the same words with a 404 tell the caller what happened.
      if (!(await repo.deleteSecretIdByAccessor(role.name, accessor))) throw noSuchAccessor(accessor);
    },

    async login(roleId, secretId, remoteAddress, mfaCredentials) {
      if (typeof roleId !== 'string' || roleId.length === 0 || roleId.length > MAX_CREDENTIAL_LENGTH) throw refused();
      const stored = await repo.readRoleByRoleId(roleId);
      if (!stored || !constantTimeEqual(stored.roleId, roleId)) throw refused();
      const role = toRole(stored);
      let secretIdMeta: Record<string, string> = {};
      let tokenBoundCidrs = role.tokenBoundCidrs;
      if (role.bindSecretId) {
        const row = await redeemSecretId(role, secretId, remoteAddress);
        secretIdMeta = JSON.parse(row.meta) as Record<string, string>;
        // As Vault: a secret-id's own token_bound_cidrs (already inside the role's) replace the role's.
        const own = JSON.parse(row.token_bound_cidrs) as string[];
        if (own.length > 0) tokenBoundCidrs = own;
      } else if (!anyCidrContains(role.secretIdBoundCidrs, remoteAddress)) {
        throw refused();
      }
      return deps.logins.complete({
        mount: { accessor: mount.accessor, path: mount.path, type: mount.type },
        // Vault's alias of an AppRole login: named by the role id, with the role's name as metadata.
        alias: { name: role.roleId, metadata: { role_name: role.name } },
        token: {
          authMethod: 'approle',
          path: `auth/${mount.path}login`,
          policies: role.tokenPolicies,
          ttl: role.tokenTtl,
          explicitMaxTtl: roleHardLimit(role.tokenMaxTtl, role.tokenExplicitMaxTtl),
          numUses: role.tokenNumUses,
          period: role.tokenPeriod,
          boundCidrs: tokenBoundCidrs,
          displayName: `approle-${role.name}`,
          // As Vault: the secret-id's metadata, plus role_name (which the metadata cannot override).
          meta: { ...secretIdMeta, role_name: role.name },
        },
        ...(mfaCredentials ? { mfaCredentials } : {}),
      });
    },

    tidySecretIds: () => repo.deleteExpiredSecretIds(clock()),

    async listSecretIdAccessors(name) {
      // An unknown role is a 404 rather than an empty list, so a typo in the role name is not mistaken for "none".
      const role = await loadRole(name);
      return repo.liveSecretIdAccessors(role.name, clock());
    },

    async lookupSecretId(name, secretId) {
      const role = await loadRole(name);
      if (typeof secretId !== 'string' || secretId.length === 0) throw invalid('missing secret_id');
      if (secretId.length > MAX_CREDENTIAL_LENGTH) throw invalid('secret_id is malformed');
      const hash = hashSecretId(secretId);
      const row = await repo.findSecretId(role.name, hash);
      if (!row || !constantTimeEqual(row.hash, hash) || isExpiredRow(row, clock())) return undefined;
      return secretIdInfo(row);
    },

    async lookupSecretIdAccessor(name, accessor) {
      const role = await loadRole(name);
      checkAccessor(accessor);
      const row = await repo.findSecretIdByAccessor(role.name, accessor);
      if (!row || isExpiredRow(row, clock())) throw noSuchAccessor(accessor);
      return secretIdInfo(row);
    },
  };
}

function checkAccessor(accessor: unknown): asserts accessor is string {
  if (typeof accessor !== 'string' || accessor === '') throw invalid('missing secret_id_accessor');
  // Accessors are UUIDs; anything this long is not one (and is not echoed back at length).
  if (accessor.length > 64) throw invalid('invalid secret_id_accessor');
}

function isExpiredRow(row: SecretIdRow, now: number): boolean {
  return row.expire_time > 0 && row.expire_time <= now;
}

/** The non-secret properties of a stored secret-id (the hash never leaves the service). */
function secretIdInfo(row: SecretIdRow): SecretIdInfo {
  return {
    accessor: row.accessor,
    creationTime: Number(row.creation_time),
    expirationTime: Number(row.expire_time),
    lastUpdatedTime: Number(row.creation_time),
    meta: JSON.parse(row.meta) as Record<string, string>,
    cidrList: JSON.parse(row.cidr_list) as string[],
    tokenBoundCidrs: JSON.parse(row.token_bound_cidrs) as string[],
    numUses: Number(row.num_uses),
    ttl: row.expire_time > 0 ? Math.round((Number(row.expire_time) - Number(row.creation_time)) / 1000) : 0,
  };
}

function validateRole(role: AppRole): AppRole {
  const roleId = typeof role.roleId === 'string' ? role.roleId.trim() : '';
  if (roleId.length === 0 || roleId.length > 255 || /\s/.test(roleId))
    throw invalid('role_id must be 1–255 characters without spaces');
  const tokenPolicies = sanitizePolicies(role.tokenPolicies ?? [], false);
  if (tokenPolicies.includes('root')) throw invalid('a role cannot grant the root policy');
  const secretIdBoundCidrs = canonicalCidrs(role.secretIdBoundCidrs ?? []);
  const bindSecretId = role.bindSecretId !== false;
  // Vault's rule: a role needs at least one constraint, or anyone who learns the role_id could log in.
  if (!bindSecretId && secretIdBoundCidrs.length === 0) {
    throw invalid('a role without bind_secret_id must set secret_id_bound_cidrs');
  }
  const tokenTtl = nonNegativeInteger('token_ttl', role.tokenTtl);
  const tokenMaxTtl = nonNegativeInteger('token_max_ttl', role.tokenMaxTtl);
  if (tokenMaxTtl > 0 && tokenTtl > tokenMaxTtl) throw invalid("'token_ttl' cannot be greater than 'token_max_ttl'");
  return {
    name: role.name,
    roleId,
    bindSecretId,
    secretIdTtl: nonNegativeInteger('secret_id_ttl', role.secretIdTtl),
    secretIdNumUses: nonNegativeInteger('secret_id_num_uses', role.secretIdNumUses),
    tokenPolicies,
    tokenTtl,
    tokenMaxTtl,
    tokenExplicitMaxTtl: nonNegativeInteger('token_explicit_max_ttl', role.tokenExplicitMaxTtl),
    tokenNumUses: nonNegativeInteger('token_num_uses', role.tokenNumUses),
    tokenPeriod: nonNegativeInteger('token_period', role.tokenPeriod),
    secretIdBoundCidrs,
    tokenBoundCidrs: canonicalCidrs(role.tokenBoundCidrs ?? []),
  };
}

/** A secret-id's own CIDR list, each block inside one of the role's when the role has any (Vault's subset rule). */
function narrowedCidrs(
  field: string,
  list: readonly string[] | undefined,
  roleList: readonly string[],
  roleField: string,
): string[] {
  const cidrs = canonicalCidrs(list ?? []);
  if (roleList.length > 0) {
    const outer = roleList.map(parseCidr);
    for (const text of cidrs) {
      if (!outer.some((o) => cidrWithin(parseCidr(text), o)))
        throw invalid(`${field} entry ${text} is outside the role's ${roleField}`);
    }
  }
  return cidrs;
}

function canonicalCidrs(list: readonly string[]): string[] {
  if (!Array.isArray(list)) throw invalid('CIDR lists must be arrays');
  return [
    ...new Set(list.filter((c) => typeof c !== 'string' || c.trim() !== '').map((c) => formatCidr(parseCidr(c)))),
  ];
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !ROLE_NAME.test(name))
    throw invalid('role name must be 1–255 letters, digits, ".", "_" or "-"');
}

function withoutUndefined<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}
