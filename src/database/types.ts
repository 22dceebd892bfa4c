import type { IssuedLease, ActiveLease } from '../leases/types.js';
import type { Mount } from '../mounts/types.js';
import type { DatabaseConnection, DatabasePlugin } from './plugins/types.js';

/** `database/config/<name>`, as stored (sealed as a whole: the root password and any URL credentials with it). */
export interface ConnectionConfig {
  name: string;
  pluginName: string;
  connectionUrl: string;
  username: string;
  password: string;
  allowedRoles: string[];
  passwordPolicy: string;
  verifyConnection: boolean;
  maxOpenConnections: number;
  maxIdleConnections: number;
  /** Seconds. */
  maxConnectionLifetime: number;
  rootRotationStatements: string[];
  /** Empty: the plugin's default. */
  usernameTemplate: string;
}

/** `database/roles/<name>` (Vault's dynamic role). */
export interface DynamicRole {
  name: string;
  dbName: string;
  creationStatements: string[];
  revocationStatements: string[];
  rollbackStatements: string[];
  renewStatements: string[];
  /** Seconds; 0: the mount's (system) default. */
  defaultTtl: number;
  /** Seconds; 0: the mount's (system) maximum. */
  maxTtl: number;
  credentialType: 'password';
}

/** What a config write may set; absent fields keep their current value on an update (as Vault). */
export type ConfigInput = Partial<Omit<ConnectionConfig, 'name'>>;
export type RoleInput = Partial<Omit<DynamicRole, 'name'>>;

/** Who asked, for the username template and the lease. */
export interface Caller {
  displayName: string;
  tokenAccessor: string | null;
}

export interface IssuedCredential {
  username: string;
  password: string;
  lease: IssuedLease;
}

/** The engine private data of a lease (ActiveLease.internal): never the password. */
export interface LeaseInternal {
  username: string;
  db_name: string;
  role: string;
  /** The role's revocation statements when the credential was issued: used if the role is deleted meanwhile. */
  revocation_statements: string[];
}

export interface DatabaseService {
  writeConfig(mount: Mount, name: string, input: ConfigInput): Promise<{ warnings: string[] }>;
  readConfig(mount: Mount, name: string): Promise<ConnectionConfig | undefined>;
  listConfigs(mount: Mount): Promise<string[]>;
  deleteConfig(mount: Mount, name: string): Promise<void>;
  /** Closes the pool of a config and opens a new one (database/reset). */
  reset(mount: Mount, name: string): Promise<void>;
  rotateRoot(mount: Mount, name: string): Promise<void>;

  writeRole(mount: Mount, name: string, input: RoleInput): Promise<void>;
  readRole(mount: Mount, name: string): Promise<DynamicRole | undefined>;
  listRoles(mount: Mount): Promise<string[]>;
  deleteRole(mount: Mount, name: string): Promise<void>;

  issueCredential(mount: Mount, roleName: string, caller: Caller): Promise<IssuedCredential>;
  revokeLease(lease: ActiveLease): Promise<void>;
  renewLease(lease: ActiveLease, expireTime: Date): Promise<void>;

  /**
   * The open pool of a config and its plugin, for the static-roles part of the engine (rotation of fixed accounts).
   * Throws not_found when there is no such config.
   */
  connection(
    mount: Mount,
    name: string,
  ): Promise<{ config: ConnectionConfig; plugin: DatabasePlugin; db: DatabaseConnection }>;
  /** Deletes every config and role of a mount, closing its pools (mount disable). */
  purge(mount: Mount): Promise<void>;
  /** Closes every pool (server shutdown). */
  close(): Promise<void>;
}
