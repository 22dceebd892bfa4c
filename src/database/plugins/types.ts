/**
 * A database plugin (Vault's dbplugin v5, built in): how the engine talks to one kind of database. The engine owns
 * the logic (roles, templates, leases, rotation); a plugin only opens connections and runs statements, and knows its
 * database's defaults and limits.
 */

/** The connection settings of `database/config/<name>`, decrypted. */
export interface ConnectionSettings {
  /** May contain `{{username}}` and `{{password}}`, replaced with `username` and `password` (Vault). */
  connectionUrl: string;
  username: string;
  password: string;
  maxOpenConnections: number;
  maxIdleConnections: number;
  /** Seconds; 0 keeps connections until closed. */
  maxConnectionLifetime: number;
}

/** Values substituted into statements: `{{name}}`, `{{username}}` (same as name), `{{password}}`, `{{expiration}}`. */
export interface StatementValues {
  name: string;
  password?: string;
  /** Rendered by the plugin in its database's timestamp format. */
  expiration?: Date;
}

/** An open pool of connections to one configured database. */
export interface DatabaseConnection {
  /** Checks the connection works (verify_connection on write). Throws a DatabasePluginError saying why. */
  verify(): Promise<void>;
  /**
   * Runs statements with values substituted, in one transaction where the database allows it (PostgreSQL; MySQL's
   * DDL commits implicitly). Each entry may hold several ';'-separated statements, as Vault's do.
   */
  execute(statements: readonly string[], values: StatementValues): Promise<void>;
  /** Closes every connection of the pool. */
  close(): Promise<void>;
}

export interface DatabasePlugin {
  /** Vault's plugin name: 'postgresql-database-plugin', 'mysql-database-plugin'. */
  readonly name: string;
  /** Opens a pool (lazily: no connection is made until `verify` or `execute`). */
  open(settings: ConnectionSettings): DatabaseConnection;
  /** Statements used when a role or config leaves them empty. */
  readonly defaults: {
    /** Dynamic role revocation (drops the user and ends its sessions). */
    revocation: readonly string[];
    /** rotate-root and static-role rotation: change `{{name}}`'s password to `{{password}}`. */
    rotation: readonly string[];
    /** Renewal: moves the user's expiry to `{{expiration}}` (empty where the database has no expiry). */
    renew: readonly string[];
    /** Vault's default username template for this plugin. */
    usernameTemplate: string;
  };
  /** The longest user name the database accepts (MySQL 32, PostgreSQL 63). */
  readonly maxUsernameLength: number;
}
