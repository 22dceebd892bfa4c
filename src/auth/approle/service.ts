import { randomUUID } from 'node:crypto';
import type { Barrier } from '../../crypto/types.js';
import { constantTimeEqual, hmacSha256Hex } from '../../crypto/hmac.js';
import type { Storage } from '../../storage/database.js';
import { forbidden, invalid, notFound, sealedError } from '../../shared/errors.js';
import { nonNegativeInteger, sanitizePolicies, validateMeta } from '../token/format.js';
import type { AppRole, AppRoleService, AuthMountRef, SecretIdInfo, TokenService } from '../types.js';
import { anyCidrContains, cidrWithin, formatCidr, parseCidr } from '../cidr.js';
import { createAppRoleRepository, type SecretIdRow, type StoredRole } from './repository.js';

export interface AppRoleDeps {
  storage: Pick<Storage, 'db'>;
  tokens: Pick<TokenService, 'issue'>;
  barrier: Pick<Barrier, 'isSealed' | 'deriveKey'>;
  /** Epoch ms. */
  clock?: () => number;
  /**
   * The auth mount served (its uuid scopes every role and secret-id; its path names the login on tokens). The server
   * passes the real mount; the default is a stand-in at approle/ for unit tests.
   */
  mount?: AuthMountRef;
}


const TEST_MOUNT: AuthMountRef = { uuid: 'approle', path: 'approle/' };

const ROLE_NAME = /^[\w.-]{1,255}$/;
const MAX_CREDENTIAL_LENGTH = 512;
/** One answer for every bad credential: which half was wrong is exactly what an attacker wants to know. */
const refused = () => forbidden('invalid role ID or secret ID');

type RoleSettings = Omit<AppRole, 'name' | 'roleId'>;

const DEFAULTS: RoleSettings = {
  bindSecretId: true,
  secretIdTtl: 0,
  secretIdNumUses: 0,
  tokenPolicies: [],
  tokenTtl: 0,
  tokenMaxTtl: 0,
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
    return { name: stored.name, roleId: stored.roleId, ...DEFAULTS, ...(JSON.parse(stored.definition) as RoleSettings) };
  }

  async function loadRole(name: string): Promise<AppRole> {
    checkName(name);
    const stored = await repo.readRole(name);
    if (!stored) throw notFound(`role "${name}" does not exist`);
    return toRole(stored);
  }

  /** Looks up, checks and spends one use of a secret-id; any failure is the same refusal. */
  async function redeemSecretId(role: AppRole, secretId: string, remoteAddress: string | undefined): Promise<void> {
    if (typeof secretId !== 'string' || secretId.length === 0 || secretId.length > MAX_CREDENTIAL_LENGTH) throw refused();
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
  }

  return {
    async writeRole(input) {
      checkName(input?.name);
      const existing = await repo.readRole(input.name);
      const current: AppRole = existing ? toRole(existing) : { name: input.name, roleId: randomUUID(), ...DEFAULTS };
      const role = validateRole({ ...current, ...withoutUndefined(input) });
      const { name, roleId, ...settings } = role;
      const written = await repo.writeRole({ name, roleId, definition: JSON.stringify(settings) }, clock());
      if (!written) throw invalid('that role_id is already used by another role');
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

    async generateSecretId(name, meta, options = {}) {
      const role = await loadRole(name);
      if (!role.bindSecretId) throw invalid(`role "${name}" does not use secret IDs (bind_secret_id is false)`);
      const ttl = options.ttl === undefined ? role.secretIdTtl : nonNegativeInteger('ttl', options.ttl);
      if (role.secretIdTtl > 0 && (ttl === 0 || ttl > role.secretIdTtl)) {
        throw invalid(`ttl cannot exceed the role's secret_id_ttl (${role.secretIdTtl}s)`);
      }
      const numUses = options.numUses === undefined ? role.secretIdNumUses : nonNegativeInteger('num_uses', options.numUses);
      if (role.secretIdNumUses > 0 && (numUses === 0 || numUses > role.secretIdNumUses)) {
        throw invalid(`num_uses cannot exceed the role's secret_id_num_uses (${role.secretIdNumUses})`);
      }
      const cidrs = canonicalCidrs(options.cidrList ?? []);
      if (role.secretIdBoundCidrs.length > 0) {
        const outer = role.secretIdBoundCidrs.map(parseCidr);
        for (const text of cidrs) {
          if (!outer.some((o) => cidrWithin(parseCidr(text), o))) {
            throw invalid(`cidr_list entry ${text} is outside the role's secret_id_bound_cidrs`);
          }
        }
      }
      const secretId = randomUUID();
      const accessor = randomUUID();
      const now = clock();
      const row: Omit<SecretIdRow, 'mount_uuid'> = {
        hash: hashSecretId(secretId),
        accessor,
        role_name: role.name,
        meta: JSON.stringify(validateMeta(meta)),
        cidr_list: JSON.stringify(cidrs),
        num_uses: numUses,
        creation_time: now,
        expire_time: ttl > 0 ? now + ttl * 1000 : 0,
      };
      await repo.insertSecretId(row);
      return { secretId, accessor, ttl };
    },

    async destroySecretId(name, secretId) {
      checkName(name);
      if (typeof secretId !== 'string' || secretId.length === 0 || secretId.length > MAX_CREDENTIAL_LENGTH) {
        throw invalid('secret_id is missing or malformed');
      }
      await repo.deleteSecretId(name, hashSecretId(secretId));
    },

    async destroySecretIdAccessor(name, accessor) {
      checkName(name);
      if (typeof accessor !== 'string' || accessor.length === 0 || accessor.length > 64) throw invalid('invalid secret ID accessor');
      await repo.deleteSecretIdByAccessor(name, accessor);
    },

    async login(roleId, secretId, remoteAddress) {
      if (typeof roleId !== 'string' || roleId.length === 0 || roleId.length > MAX_CREDENTIAL_LENGTH) throw refused();
      const stored = await repo.readRoleByRoleId(roleId);
      if (!stored || !constantTimeEqual(stored.roleId, roleId)) throw refused();
      const role = toRole(stored);
      if (role.bindSecretId) {
        await redeemSecretId(role, secretId, remoteAddress);
      } else if (!anyCidrContains(role.secretIdBoundCidrs, remoteAddress)) {
        throw refused();
      }
      return deps.tokens.issue({
        authMethod: 'approle',
        path: `auth/${mount.path}login`,
        policies: role.tokenPolicies,
        ttl: role.tokenTtl,
        explicitMaxTtl: role.tokenMaxTtl,
        numUses: role.tokenNumUses,
        period: role.tokenPeriod,
        boundCidrs: role.tokenBoundCidrs,
        displayName: `approle-${role.name}`,
        meta: { role_name: role.name },
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
      if (typeof secretId !== 'string' || secretId.length === 0 || secretId.length > MAX_CREDENTIAL_LENGTH) {
        throw invalid('secret_id is missing or malformed');
      }
      const hash = hashSecretId(secretId);
      const row = await repo.findSecretId(role.name, hash);
      if (!row || !constantTimeEqual(row.hash, hash) || isExpiredRow(row, clock())) return undefined;
      return secretIdInfo(row);
    },

    async lookupSecretIdAccessor(name, accessor) {
      const role = await loadRole(name);
      if (typeof accessor !== 'string' || accessor.length === 0 || accessor.length > 64) throw invalid('invalid secret ID accessor');
      const row = await repo.findSecretIdByAccessor(role.name, accessor);
      if (!row || isExpiredRow(row, clock())) throw invalid(`no secret ID with accessor "${accessor}" for role "${role.name}"`);
      return secretIdInfo(row);
    },
  };
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
    numUses: Number(row.num_uses),
    ttl: row.expire_time > 0 ? Math.round((Number(row.expire_time) - Number(row.creation_time)) / 1000) : 0,
  };
}

function validateRole(role: AppRole): AppRole {
  const roleId = typeof role.roleId === 'string' ? role.roleId.trim() : '';
  if (roleId.length === 0 || roleId.length > 255 || /\s/.test(roleId)) throw invalid('role_id must be 1–255 characters without spaces');
  const tokenPolicies = sanitizePolicies(role.tokenPolicies ?? [], false);
  if (tokenPolicies.includes('root')) throw invalid('a role cannot grant the root policy');
  const secretIdBoundCidrs = canonicalCidrs(role.secretIdBoundCidrs ?? []);
  const bindSecretId = role.bindSecretId !== false;
  // Vault's rule: a role needs at least one constraint, or anyone who learns the role_id could log in.
  if (!bindSecretId && secretIdBoundCidrs.length === 0) {
    throw invalid('a role without bind_secret_id must set secret_id_bound_cidrs');
  }
  return {
    name: role.name,
    roleId,
    bindSecretId,
    secretIdTtl: nonNegativeInteger('secret_id_ttl', role.secretIdTtl),
    secretIdNumUses: nonNegativeInteger('secret_id_num_uses', role.secretIdNumUses),
    tokenPolicies,
    tokenTtl: nonNegativeInteger('token_ttl', role.tokenTtl),
    tokenMaxTtl: nonNegativeInteger('token_max_ttl', role.tokenMaxTtl),
    tokenNumUses: nonNegativeInteger('token_num_uses', role.tokenNumUses),
    tokenPeriod: nonNegativeInteger('token_period', role.tokenPeriod),
    secretIdBoundCidrs,
    tokenBoundCidrs: canonicalCidrs(role.tokenBoundCidrs ?? []),
  };
}

function canonicalCidrs(list: readonly string[]): string[] {
  if (!Array.isArray(list)) throw invalid('CIDR lists must be arrays');
  return [...new Set(list.filter((c) => typeof c !== 'string' || c.trim() !== '').map((c) => formatCidr(parseCidr(c))))];
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !ROLE_NAME.test(name)) throw invalid('role name must be 1–255 letters, digits, ".", "_" or "-"');
}

function withoutUndefined<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}
