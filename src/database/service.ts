import type { Barrier } from '../crypto/types.js';
import type { ActiveLease, LeaseRegistrar } from '../leases/types.js';
import type { Mount } from '../mounts/types.js';
import type { PasswordGenerator } from '../passwords/types.js';
import { SYSTEM_LEASE_TTL_SECONDS } from '../shared/duration.js';
import { StrongroomError, invalid, safeErrorText } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { createConnectionStore, generateSqlSafePassword } from './connections.js';
import { DatabasePluginError, POOL_CLOSED, isUnreachable, maskSecrets } from './plugins/errors.js';
import type { DatabasePlugin, StatementValues } from './plugins/types.js';
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

/**
 * A plugin failure as the API reports it, the database's text with secrets masked: 503 when the database could not
 * be reached, 400 when it refused a statement (the role's or config's statements are wrong). Vault answers 500 for
 * both; our 500s hide their message, and the database's reason is what an operator needs to fix a role.
 */
export function databaseError(what: string, err: unknown, secrets: readonly string[]): StrongroomError {
  const message = `${what}: ${maskSecrets(err instanceof Error ? err.message : String(err), secrets)}`;
  return new StrongroomError(isUnreachable(err) ? 'unavailable' : 'invalid', message);
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

  /**
   * Runs statements on a config's current pool. A pool closed under the request (the config changed meanwhile: a
   * rotate-root, an update, a reset) is retried once on the new one.
   */
  async function execute(
    mountUuid: string,
    dbName: string,
    pick: (plugin: DatabasePlugin) => readonly string[],
    values: StatementValues,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { plugin, db } = await connections.connection(mountUuid, dbName);
      try {
        await db.execute(pick(plugin), values);
        return;
      } catch (err) {
        if (attempt > 0 || !(err instanceof DatabasePluginError) || err.code !== POOL_CLOSED) throw err;
      }
    }
  }

  async function revokeUser(internal: LeaseInternal, mountUuid: string): Promise<void> {
    // The role's statements now; those it had at issue when it was deleted since; else the plugin's default.
    const role = await loadRole(mountUuid, internal.role);
    const own = role ? role.revocationStatements : internal.revocation_statements;
    await execute(mountUuid, internal.db_name, (plugin) => (own.length > 0 ? own : plugin.defaults.revocation), {
      name: internal.username,
    });
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
      const config = found.config;
      if (!roleAllowed(config.allowedRoles, roleName)) throw invalid(`"${roleName}" is not an allowed role`);
      const plugin = connections.pluginOf(config);

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
        await execute(mount.uuid, role.dbName, () => role.creationStatements, { name: username, password, expiration });
      } catch (err) {
        if (role.rollbackStatements.length > 0)
          await execute(mount.uuid, role.dbName, () => role.rollbackStatements, { name: username }).catch(
            () => undefined,
          );
        throw databaseError('failed to create user', err, [password]);
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
      const role = await loadRole(lease.mount.uuid, internal.role);
      await execute(
        lease.mount.uuid,
        internal.db_name,
        (plugin) => (role && role.renewStatements.length > 0 ? role.renewStatements : plugin.defaults.renew),
        { name: internal.username, expiration: expireTime },
      );
    },

    async purge(mount: Mount) {
      await pools.dropMount(mount.uuid);
      await repo.purge(mount.uuid);
    },

    close: () => pools.closeAll(),
    rewrapper: connections.rewrapper,
  };
}
