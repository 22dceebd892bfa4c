import { encodeContext } from '../crypto/context.js';
import type { Barrier, Rewrapper } from '../crypto/types.js';
import type { PasswordGenerator } from '../passwords/types.js';
import { StrongroomError, invalid, notFound } from '../shared/errors.js';
import { maskSecrets } from './plugins/errors.js';
import { findPlugin } from './plugins/registry.js';
import type { DatabaseConnection, DatabasePlugin } from './plugins/types.js';
import type { PoolCache } from './pools.js';
import type { ConnectionRow, DatabaseRepository } from './repository.js';
import type { ConfigInput, ConnectionConfig } from './types.js';
import { compileUsernameTemplate } from './username-template.js';

/** How often a password from the policy is drawn again when it holds a character unsafe in a SQL string literal. */
const SAFE_PASSWORD_TRIES = 5;

/** The associated data a config's ciphertext is bound to: the engine, its mount and the config's name. */
export function connectionContext(mountUuid: string, name: string): Buffer {
  return encodeContext('database-config', mountUuid, name);
}

export interface ConnectionStoreDeps {
  repo: DatabaseRepository;
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'currentTerm'>;
  passwords: PasswordGenerator;
  pools: PoolCache;
  now: () => number;
}

/**
 * Passwords are substituted into statements as text (`PASSWORD '{{password}}'`, as Vault's are), so one holding a
 * quote or a backslash would break out of the literal: such a password is drawn again, and after a few tries the
 * policy is reported as unusable for databases. Policies without those characters (the default) never retry.
 */
export async function generateSqlSafePassword(passwords: PasswordGenerator, policy: string): Promise<string> {
  for (let attempt = 0; attempt < SAFE_PASSWORD_TRIES; attempt++) {
    const password = await passwords.generate(policy || undefined);
    if (!/['\\]/.test(password) && !password.includes('\u0000')) return password;
  }
  throw invalid(
    `password policy "${policy}" keeps generating passwords with a quote or backslash, which cannot be used in SQL statements`,
  );
}

export function createConnectionStore(deps: ConnectionStoreDeps) {
  const { repo, barrier, pools } = deps;

  const seal = (mountUuid: string, config: ConnectionConfig): Uint8Array => {
    const plaintext = Buffer.from(JSON.stringify(config), 'utf8');
    try {
      return barrier.encrypt(plaintext, connectionContext(mountUuid, config.name));
    } finally {
      plaintext.fill(0);
    }
  };

  const open = async (row: ConnectionRow): Promise<ConnectionConfig> => {
    const plaintext = await barrier.decryptWithRefresh(row.ciphertext, connectionContext(row.mount_uuid, row.name));
    try {
      return JSON.parse(plaintext.toString('utf8')) as ConnectionConfig;
    } finally {
      plaintext.fill(0);
    }
  };

  async function load(mountUuid: string, name: string) {
    const row = await repo.getConnection(mountUuid, name);
    return row ? { row, config: await open(row) } : undefined;
  }

  async function store(mountUuid: string, config: ConnectionConfig, previousGeneration: number): Promise<void> {
    await repo.putConnection({
      mount_uuid: mountUuid,
      name: config.name,
      ciphertext: seal(mountUuid, config),
      term: barrier.currentTerm(),
      generation: previousGeneration + 1,
      updated_time: deps.now(),
    });
    await pools.drop(mountUuid, config.name);
  }

  function pluginOf(config: Pick<ConnectionConfig, 'pluginName'>): DatabasePlugin {
    const plugin = findPlugin(config.pluginName);
    if (!plugin) throw invalid(`error creating database object: unknown plugin "${config.pluginName}"`);
    return plugin;
  }

  /** Opens a throwaway connection and checks it, as Vault's verify_connection does on write. */
  async function verify(config: ConnectionConfig, plugin: DatabasePlugin): Promise<void> {
    const conn = plugin.open({ ...config, connectionUrl: config.connectionUrl });
    try {
      await conn.verify();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw invalid(
        `error creating database object: error verifying connection: ${maskSecrets(message, [config.password])}`,
      );
    } finally {
      await conn.close();
    }
  }

  return {
    load,
    pluginOf,

    async write(mountUuid: string, name: string, input: ConfigInput): Promise<{ warnings: string[] }> {
      const existing = await load(mountUuid, name);
      const base: ConnectionConfig = existing?.config ?? {
        name,
        pluginName: '',
        connectionUrl: '',
        username: '',
        password: '',
        allowedRoles: [],
        passwordPolicy: '',
        verifyConnection: true,
        maxOpenConnections: 4,
        maxIdleConnections: 0,
        maxConnectionLifetime: 0,
        rootRotationStatements: [],
        usernameTemplate: '',
      };
      const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as ConfigInput;
      const config: ConnectionConfig = { ...base, ...defined, name };
      if (!config.pluginName) throw invalid('empty plugin name');
      if (existing && input.pluginName && input.pluginName !== existing.config.pluginName)
        throw invalid('cannot change plugin name of an existing connection');
      const plugin = pluginOf(config);
      if (!config.connectionUrl) throw invalid('error creating database object: connection_url cannot be empty');
      if (config.maxIdleConnections > config.maxOpenConnections) config.maxIdleConnections = config.maxOpenConnections;
      if (config.usernameTemplate) compileUsernameTemplate(config.usernameTemplate);
      // verify_connection is a choice of this write, not a setting: Vault verifies unless told not to each time.
      const verifyNow = input.verifyConnection ?? true;
      config.verifyConnection = verifyNow;
      if (verifyNow) await verify(config, plugin);
      await store(mountUuid, config, existing?.row.generation ?? 0);
      const warnings: string[] = [];
      if (
        /:[^/@{]+@/.test(config.connectionUrl.replace(/^[a-z]+:\/\//i, '')) &&
        !config.connectionUrl.includes('{{password}}')
      )
        warnings.push(
          'Password found in connection_url, use a templated url to enable root rotation and prevent read access to password information.',
        );
      return { warnings };
    },

    async remove(mountUuid: string, name: string): Promise<void> {
      await repo.deleteConnection(mountUuid, name);
      await pools.drop(mountUuid, name);
    },

    /** The pool for a config, reopened when the config changed since it was opened. */
    async connection(mountUuid: string, name: string) {
      const found = await load(mountUuid, name);
      if (!found) throw notFound(`could not find database connection "${name}"`);
      const plugin = pluginOf(found.config);
      return { config: found.config, plugin, db: pools.get(mountUuid, found.config, found.row.generation, plugin) };
    },

    async reset(mountUuid: string, name: string): Promise<void> {
      const found = await load(mountUuid, name);
      if (!found) throw notFound(`could not find database connection "${name}"`);
      await pools.drop(mountUuid, name);
      const plugin = pluginOf(found.config);
      const db: DatabaseConnection = pools.get(mountUuid, found.config, found.row.generation, plugin);
      await db.verify().catch((err: unknown) => {
        throw new StrongroomError(
          'unavailable',
          `failed to reset database connection: ${err instanceof Error ? err.message : 'unknown error'}`,
        );
      });
    },

    /**
     * Vault's rotate-root: a new password for the configured user, set on the database first, then stored. The old
     * one is gone after this (only Strongroom knows the new one). The store write is retried: once the database has
     * the new password, losing it would lock the engine out.
     */
    async rotateRoot(mountUuid: string, name: string): Promise<void> {
      const found = await load(mountUuid, name);
      if (!found) throw notFound(`could not find database connection "${name}"`);
      const { config, row } = found;
      if (!config.username) throw invalid('unable to rotate root credentials: no username in configuration');
      const plugin = pluginOf(config);
      const password = await generateSqlSafePassword(deps.passwords, config.passwordPolicy);
      const statements =
        config.rootRotationStatements.length > 0 ? config.rootRotationStatements : plugin.defaults.rotation;
      const db = pools.get(mountUuid, config, row.generation, plugin);
      try {
        await db.execute(statements, { name: config.username, password });
      } catch (err) {
        const message = maskSecrets(err instanceof Error ? err.message : String(err), [password, config.password]);
        throw new StrongroomError('internal', `failed to update user: ${message}`);
      }
      const rotated = { ...config, password };
      let lastError: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await store(mountUuid, rotated, row.generation);
          return;
        } catch (err) {
          lastError = err;
        }
      }
      throw new StrongroomError(
        'internal',
        'the root password was changed on the database but could not be stored',
        undefined,
        {
          cause: lastError,
        },
      );
    },

    rewrapper: {
      name: 'database',
      async rewrapBatch(batchSize: number) {
        let moved = 0;
        for (const row of await repo.staleConnections(barrier.currentTerm(), batchSize)) {
          const config = await open(row);
          const ciphertext = seal(row.mount_uuid, config);
          if (await repo.replaceCiphertext({ ...row, ciphertext, term: barrier.currentTerm() }, row.ciphertext))
            moved++;
        }
        return moved;
      },
      countStale: () => repo.countStale(barrier.currentTerm()),
    } satisfies Rewrapper,
  };
}

export type ConnectionStore = ReturnType<typeof createConnectionStore>;
