import type { Backend, RequestContext } from '../logical/backend.js';
import { definePath } from '../logical/backend.js';
import type { Mount } from '../mounts/types.js';
import { StrongroomError, invalid } from '../shared/errors.js';
import { CONFIG_FIELDS, ROLE_FIELDS, statementList } from './fields.js';
import type { ConnectionConfig, DatabaseService, DynamicRole } from './types.js';

/** Vault's framework.GenericNameRegex. */
const NAME = '(?<name>\\w(?:[\\w.-]*\\w)?)';

const mountOf = (ctx: RequestContext): Mount => {
  if (!ctx.mount) throw new StrongroomError('internal', 'database backend reached without a mount');
  return ctx.mount;
};
const nameOf = (ctx: RequestContext): string => ctx.params.name ?? '';

/** Go's duration text for a number of seconds, as Vault shows max_connection_lifetime. */
const goDuration = (seconds: number): string => `${seconds}s`;

/** A config as Vault's read shows it: never the password, and any password written into the URL masked. */
export function configView(config: ConnectionConfig): Record<string, unknown> {
  const url = config.password ? config.connectionUrl.split(config.password).join('*****') : config.connectionUrl;
  return {
    plugin_name: config.pluginName,
    plugin_version: '',
    connection_details: {
      connection_url: url,
      username: config.username,
      max_open_connections: config.maxOpenConnections,
      max_idle_connections: config.maxIdleConnections,
      max_connection_lifetime: goDuration(config.maxConnectionLifetime),
      ...(config.usernameTemplate ? { username_template: config.usernameTemplate } : {}),
    },
    allowed_roles: config.allowedRoles,
    password_policy: config.passwordPolicy,
    root_credentials_rotate_statements: config.rootRotationStatements,
    verify_connection: config.verifyConnection,
  };
}

export function roleView(role: DynamicRole): Record<string, unknown> {
  return {
    db_name: role.dbName,
    creation_statements: role.creationStatements,
    revocation_statements: role.revocationStatements,
    rollback_statements: role.rollbackStatements,
    renew_statements: role.renewStatements,
    default_ttl: role.defaultTtl,
    max_ttl: role.maxTtl,
    credential_type: role.credentialType,
    credential_config: {},
  };
}

/**
 * Vault's database secrets engine (https://developer.hashicorp.com/vault/api-docs/secret/databases): connections,
 * dynamic roles, credentials, root rotation and reset. Static roles (static-roles/, static-creds/, rotate-role/)
 * are added by `static/` (its own paths, merged in module.ts).
 */
export function createDatabaseBackend(deps: { database: DatabaseService; extraPaths?: Backend['paths'] }): Backend {
  const { database } = deps;
  return {
    mountType: 'database',
    paths: [
      {
        name: 'database.config.list',
        pattern: 'config/?',
        synopsis: 'Lists the configured database connections.',
        operations: { list: async (ctx) => ({ data: { keys: await database.listConfigs(mountOf(ctx)) } }) },
      },
      definePath({
        name: 'database.config',
        pattern: `config/${NAME}`,
        synopsis: 'Configures a database connection.',
        fields: CONFIG_FIELDS,
        existenceCheck: async (ctx) => (await database.readConfig(mountOf(ctx), nameOf(ctx))) !== undefined,
        operations: {
          read: async (ctx) => {
            const config = await database.readConfig(mountOf(ctx), nameOf(ctx));
            return config ? { data: configView(config) } : undefined;
          },
          create: (ctx) => writeConfig(ctx),
          update: (ctx) => writeConfig(ctx),
          delete: async (ctx) => {
            await database.deleteConfig(mountOf(ctx), nameOf(ctx));
          },
        },
      }),
      {
        name: 'database.reset',
        pattern: `reset/${NAME}`,
        synopsis: "Closes a connection's pool and opens it again.",
        operations: {
          update: async (ctx) => {
            await database.reset(mountOf(ctx), nameOf(ctx));
          },
        },
      },
      {
        name: 'database.rotate-root',
        pattern: `rotate-root/${NAME}`,
        synopsis: "Rotates the root user's password; only Strongroom knows the new one.",
        operations: {
          update: async (ctx) => {
            await database.rotateRoot(mountOf(ctx), nameOf(ctx));
          },
        },
      },
      {
        name: 'database.roles.list',
        pattern: 'roles/?',
        synopsis: 'Lists the dynamic roles.',
        operations: { list: async (ctx) => ({ data: { keys: await database.listRoles(mountOf(ctx)) } }) },
      },
      definePath({
        name: 'database.roles',
        pattern: `roles/${NAME}`,
        synopsis: 'Manages a dynamic role: the statements that create and remove its users.',
        fields: ROLE_FIELDS,
        existenceCheck: async (ctx) => (await database.readRole(mountOf(ctx), nameOf(ctx))) !== undefined,
        operations: {
          read: async (ctx) => {
            const role = await database.readRole(mountOf(ctx), nameOf(ctx));
            return role ? { data: roleView(role) } : undefined;
          },
          create: (ctx) => writeRole(ctx),
          update: (ctx) => writeRole(ctx),
          delete: async (ctx) => {
            await database.deleteRole(mountOf(ctx), nameOf(ctx));
          },
        },
      }),
      {
        name: 'database.creds',
        pattern: `creds/${NAME}`,
        synopsis: 'Creates a database user for a role, under a lease.',
        operations: {
          read: async (ctx) => {
            const issued = await database.issueCredential(mountOf(ctx), nameOf(ctx), {
              displayName: ctx.token?.displayName ?? '',
              tokenAccessor: ctx.token?.accessor ?? null,
            });
            // username and password stay out of auditClearData: the audit entry holds their HMACs only.
            return { data: { username: issued.username, password: issued.password }, lease: issued.lease };
          },
        },
      },
      ...(deps.extraPaths ?? []),
    ],
  };

  async function writeConfig(ctx: RequestContext & { input: Record<string, unknown> }) {
    const i = ctx.input as {
      plugin_name?: string;
      connection_url?: string;
      username?: string;
      password?: string;
      allowed_roles?: string[];
      password_policy?: string;
      verify_connection?: boolean;
      max_open_connections?: number;
      max_idle_connections?: number;
      max_connection_lifetime?: number;
      root_rotation_statements?: unknown;
      username_template?: string;
    };
    const { warnings } = await database.writeConfig(mountOf(ctx), nameOf(ctx), {
      pluginName: i.plugin_name,
      connectionUrl: i.connection_url,
      username: i.username,
      password: i.password,
      allowedRoles: i.allowed_roles,
      passwordPolicy: i.password_policy,
      verifyConnection: i.verify_connection,
      maxOpenConnections: i.max_open_connections,
      maxIdleConnections: i.max_idle_connections,
      maxConnectionLifetime: i.max_connection_lifetime,
      rootRotationStatements: statementList(i.root_rotation_statements, 'root_rotation_statements'),
      usernameTemplate: i.username_template,
    });
    return warnings.length > 0 ? { warnings } : undefined;
  }

  async function writeRole(ctx: RequestContext & { input: Record<string, unknown> }) {
    const i = ctx.input as Record<string, unknown> & {
      db_name?: string;
      default_ttl?: number;
      max_ttl?: number;
      credential_type?: string;
    };
    if (i.credential_type !== undefined && i.credential_type !== '' && i.credential_type !== 'password')
      throw invalid(`invalid credential_type "${i.credential_type}": only "password" is supported`);
    await database.writeRole(mountOf(ctx), nameOf(ctx), {
      dbName: i.db_name,
      creationStatements: statementList(i.creation_statements, 'creation_statements'),
      revocationStatements: statementList(i.revocation_statements, 'revocation_statements'),
      rollbackStatements: statementList(i.rollback_statements, 'rollback_statements'),
      renewStatements: statementList(i.renew_statements, 'renew_statements'),
      defaultTtl: i.default_ttl,
      maxTtl: i.max_ttl,
    });
  }
}
