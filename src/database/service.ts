import type { Barrier } from '../crypto/types.js';
import type { ActiveLease, LeaseRegistrar } from '../leases/types.js';
import type { Mount } from '../mounts/types.js';
import type { PasswordGenerator } from '../passwords/types.js';
import { SYSTEM_LEASE_TTL_SECONDS } from '../shared/duration.js';
import { StrongroomError, invalid, safeErrorText } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { createConnectionStore, generateSqlSafePassword } from './connections.js';
import { maskSecrets } from './plugins/errors.js';
import { createPoolCache } from './pools.js';
import { createDatabaseRepository } from './repository.js';
import type { DatabaseService, DynamicRole, LeaseInternal, RoleInput } from './types.js';
import { compileUsernameTemplate } from './username-template.js';

export interface DatabaseServiceDeps {
  storage: Pick<Storage, 'db'>;
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'currentTerm'>;
  leases: LeaseRegistrar;
  passwords: PasswordGenerator;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  /** The mount's default and maximum lease TTL in seconds (Vault's system defaults: 768h). */
  defaultTtl?: number;
  maxTtl?: number;
  /** Called with 'created' | 'revoked' for metrics, when the composition root wires one. */
  onCredential?: (event: 'created' | 'revoked' | 'revocation_failed') => void;
}

/** Vault's allowed_roles: exact names or globs with '*' anywhere ("*" allows every role). */
export function roleAllowed(allowed: readonly string[], role: string): boolean {
  return allowed.some((pattern) => {
    if (!pattern.includes('*')) return pattern === role;
    const source = pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${source}$`, 's').test(role);
  });
}

export function createDatabaseService(deps: DatabaseServiceDeps): DatabaseService & {
  rewrapper: ReturnType<typeof createConnectionStore>['rewrapper'];
} {
  const repo = createDatabaseRepository(deps.storage);
  const now = deps.now ?? Date.now;
  const pools = createPoolCache();
  const connections = createConnectionStore({ repo, barrier: deps.barrier, passwords: deps.passwords, pools, now });
  const systemDefault = deps.defaultTtl ?? SYSTEM_LEASE_TTL_SECONDS;
  const systemMax = deps.maxTtl ?? SYSTEM_LEASE_TTL_SECONDS;
  const count = (event: 'created' | 'revoked' | 'revocation_failed') => deps.onCredential?.(event);

  async function loadRole(mountUuid: string, name: string): Promise<DynamicRole | undefined> {
    const row = await repo.getRole(mountUuid, name);
    return row ? { name, ...(JSON.parse(row.definition) as Omit<DynamicRole, 'name'>) } : undefined;
  }

  async function revokeUser(internal: LeaseInternal, mountUuid: string): Promise<void> {
    const { plugin, db } = await connections.connection(mountUuid, internal.db_name);
    // The role's statements now; those it had at issue when it was deleted since; else the plugin's default.
    const role = await loadRole(mountUuid, internal.role);
    const own = role ? role.revocationStatements : internal.revocation_statements;
    await db.execute(own.length > 0 ? own : plugin.defaults.revocation, { name: internal.username });
  }

  return {
    writeConfig: (mount, name, input) => connections.write(mount.uuid, name, input),
    readConfig: async (mount, name) => (await connections.load(mount.uuid, name))?.config,
    listConfigs: (mount) => repo.listConnections(mount.uuid),
    deleteConfig: (mount, name) => connections.remove(mount.uuid, name),
    reset: (mount, name) => connections.reset(mount.uuid, name),
    rotateRoot: (mount, name) => connections.rotateRoot(mount.uuid, name),
    connection: (mount, name) => connections.connection(mount.uuid, name),

    async writeRole(mount, name, input) {
      const existing = await loadRole(mount.uuid, name);
      const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as RoleInput;
      const role: DynamicRole = {
        name,
        dbName: '',
        creationStatements: [],
        revocationStatements: [],
        rollbackStatements: [],
        renewStatements: [],
        defaultTtl: 0,
        maxTtl: 0,
        credentialType: 'password',
        ...existing,
        ...defined,
      };
      if (!role.dbName) throw invalid('empty database name attribute');
      if (role.creationStatements.length === 0) throw invalid('empty creation statements');
      if (role.maxTtl > 0 && role.defaultTtl > role.maxTtl) throw invalid('ttl cannot be greater than max_ttl');
      const { name: _name, ...definition } = role;
      await repo.putRole({ mount_uuid: mount.uuid, name, definition: JSON.stringify(definition), updated_time: now() });
    },
    readRole: (mount, name) => loadRole(mount.uuid, name),
    listRoles: (mount) => repo.listRoles(mount.uuid),
    deleteRole: (mount, name) => repo.deleteRole(mount.uuid, name),

    async issueCredential(mount, roleName, caller) {
      const role = await loadRole(mount.uuid, roleName);
      if (!role) throw invalid(`unknown role: ${roleName}`);
      const found = await connections.load(mount.uuid, role.dbName);
      if (!found) throw invalid(`could not find database connection "${role.dbName}"`);
      if (!roleAllowed(found.config.allowedRoles, roleName)) throw invalid(`"${roleName}" is not an allowed role`);
      const { config, plugin, db } = await connections.connection(mount.uuid, role.dbName);

      const username = compileUsernameTemplate(config.usernameTemplate || plugin.defaults.usernameTemplate).render(
        { DisplayName: caller.displayName, RoleName: roleName },
        new Date(now()),
      );
      if (username === '') throw invalid('username template produced an empty username');
      if (username.length > plugin.maxUsernameLength)
        throw invalid(
          `username "${username}" is longer than ${plugin.maxUsernameLength} characters, the database's limit`,
        );
      // The name is substituted into statements unescaped (Vault's too): a template must not produce quotes.
      if (/['"`\\]/.test(username) || username.includes('\u0000'))
        throw invalid('username template produced a name with quotes or backslashes');
      const password = await generateSqlSafePassword(deps.passwords, config.passwordPolicy);

      const maxTtl = role.maxTtl > 0 ? Math.min(role.maxTtl, systemMax) : systemMax;
      const ttl = Math.min(role.defaultTtl > 0 ? role.defaultTtl : systemDefault, maxTtl);
      const expiration = new Date(now() + ttl * 1000);
      try {
        await db.execute(role.creationStatements, { name: username, password, expiration });
      } catch (err) {
        if (role.rollbackStatements.length > 0)
          await db.execute(role.rollbackStatements, { name: username }).catch(() => undefined);
        const message = maskSecrets(err instanceof Error ? err.message : String(err), [password]);
        throw new StrongroomError('internal', `failed to create user: ${message}`);
      }

      const internal: LeaseInternal = {
        username,
        db_name: role.dbName,
        role: roleName,
        revocation_statements: role.revocationStatements,
      };
      let lease;
      try {
        lease = await deps.leases.create({
          path: `${mount.path}creds/${roleName}`,
          mount: { uuid: mount.uuid, path: mount.path, type: mount.type },
          internal: { ...internal },
          ttl,
          maxTtl,
          renewable: true,
          tokenAccessor: caller.tokenAccessor,
        });
      } catch (err) {
        // No lease means nothing would ever revoke this user: drop it now rather than leave a live login behind.
        await revokeUser(internal, mount.uuid).catch(() => undefined);
        throw err;
      }
      count('created');
      return { username, password, lease };
    },

    async revokeLease(lease: ActiveLease) {
      const internal = lease.internal as unknown as LeaseInternal;
      try {
        await revokeUser(internal, lease.mount.uuid);
      } catch (err) {
        count('revocation_failed');
        throw new StrongroomError('unavailable', `failed to revoke database user: ${safeErrorText(err)}`);
      }
      count('revoked');
    },

    async renewLease(lease: ActiveLease, expireTime: Date) {
      const internal = lease.internal as unknown as LeaseInternal;
      const { plugin, db } = await connections.connection(lease.mount.uuid, internal.db_name);
      const role = await loadRole(lease.mount.uuid, internal.role);
      const statements = role && role.renewStatements.length > 0 ? role.renewStatements : plugin.defaults.renew;
      await db.execute(statements, { name: internal.username, expiration: expireTime });
    },

    async purge(mount: Mount) {
      await pools.dropMount(mount.uuid);
      await repo.purge(mount.uuid);
    },

    close: () => pools.closeAll(),
    rewrapper: connections.rewrapper,
  };
}
