import type { DatabaseConnection, DatabasePlugin } from '../plugins/types.js';

/** The mount a static role lives in (its uuid binds ciphertexts; its path names audit entries and lease paths). */
export interface MountRef {
  uuid: string;
  path: string;
  type: string;
}

/** A static role's settings (`database/static-roles/<name>`), none of them secret. */
export interface StaticRoleConfig {
  dbName: string;
  username: string;
  /** Two-account mode (beyond Vault): the second database user, with the same grants, that alternates with `username`. */
  alternateUsername: string | null;
  /** Seconds; set XOR `rotationSchedule`. */
  rotationPeriod: number | null;
  /** 5-field cron, evaluated in UTC. */
  rotationSchedule: string | null;
  /** Seconds after a scheduled time during which the rotation may still happen; only with a schedule. */
  rotationWindow: number | null;
  /** Empty: the plugin's default rotation statements. */
  rotationStatements: string[];
  credentialType: 'password';
  /** Two-account mode: seconds the previously active account keeps its password after a rotation. */
  gracePeriod: number | null;
}

/** Where a role stands in its rotation cycle (all times epoch ms). */
export interface StaticRoleState {
  /** Incremented by every rotation; the active credential's generation. 0 before the first rotation. */
  generation: number;
  /** Which account is handed out: 0 = `username`, 1 = `alternateUsername`. */
  activeIndex: 0 | 1;
  lastVaultRotation: number | null;
  /** Null when the schedule never fires again (an impossible date). */
  nextRotation: number | null;
  /** Two-account mode: the inactive account is retiring and keeps its password until then (and no hold remains). */
  retireAfter: number | null;
  /** The generation of the retiring account's credential (what holds name). */
  retiringGeneration: number | null;
  /** Consecutive failed attempts of the due work, and when the job may try again. */
  failures: number;
  retryAt: number | null;
  /** A single-account rotation started and never recorded its outcome: the password in the database is unknown. */
  inFlight: boolean;
}

export interface StaticRole {
  name: string;
  mount: MountRef;
  config: StaticRoleConfig;
  state: StaticRoleState;
}

/** What `database/static-creds/<name>` answers with. */
export interface StaticCredential {
  role: StaticRole;
  username: string;
  password: string;
  /** Seconds until the next rotation (0 when due or never). */
  ttl: number;
  /** Two-account mode: the account that still works until `retireAfter`. */
  retiringUsername: string | null;
}

/** One open connection to a configured database, as the static roles use it. */
export interface StaticConnection {
  connection: DatabaseConnection;
  plugin: Pick<DatabasePlugin, 'name' | 'defaults'>;
  /** The config's password_policy, for the passwords this role's accounts get. */
  passwordPolicy?: string;
}

/**
 * How static roles reach a database config (`database/config/<name>`), owned by the engine's config layer: the
 * connection for `dbName` on the mount, after checking `roleName` is in its `allowed_roles`. Throws `invalid` when
 * the config does not exist or does not allow the role (Vault answers 400 in both cases).
 */
export interface StaticConnections {
  acquire(mount: MountRef, dbName: string, roleName: string): Promise<StaticConnection>;
  /** Whether a dynamic role (database/roles/<name>) has this name: Vault keeps the two name spaces disjoint. */
  dynamicRoleExists?(mount: MountRef, name: string): Promise<boolean>;
}
