import { f } from '../logical/schema.js';
import { invalid } from '../shared/errors.js';

/**
 * Vault's TypeStringSlice for statements: a JSON list, or one string taken whole (never split on commas, which
 * statements contain: `GRANT SELECT, INSERT ...`). Each entry may still hold several ';'-separated statements.
 */
export function statementList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.trim() === '' ? [] : [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.filter((v) => v.trim() !== '');
  throw invalid(`field "${field}" must be a string or a list of strings`);
}

export const CONFIG_FIELDS = {
  plugin_name: f.string('The database plugin: postgresql-database-plugin or mysql-database-plugin.'),
  plugin_version: f.string('Accepted for compatibility; built-in plugins have no versions.'),
  connection_url: f.string('Connection URL; may hold {{username}} and {{password}}, filled from the fields below.'),
  username: f.string('The root user the engine manages other users with.'),
  password: f.string('The root password: sealed, never returned.'),
  allowed_roles: f.stringList('Roles allowed to use this connection (names or globs; "*" for all). Empty allows none.'),
  password_policy: f.string('The password policy generated passwords follow (default: the default policy).'),
  verify_connection: f.bool('Connect on write and refuse the configuration when that fails (default true).'),
  max_open_connections: f.int('Most connections open at once (default 4).', { min: 0 }),
  max_idle_connections: f.int('Most idle connections kept (default 0: as many as open).', { min: 0 }),
  max_connection_lifetime: f.duration('How long a connection is reused (default 0: forever).'),
  root_rotation_statements: f.any("Statements run by rotate-root (default: the plugin's)."),
  username_template: f.string("Template for dynamic usernames (default: the plugin's)."),
};

export const ROLE_FIELDS = {
  db_name: f.string('The database connection (database/config/<name>) the role uses.'),
  creation_statements: f.any('Statements creating the user ({{name}}, {{password}}, {{expiration}}).'),
  revocation_statements: f.any("Statements removing the user (default: the plugin's)."),
  rollback_statements: f.any('Statements undoing a failed creation.'),
  renew_statements: f.any("Statements extending the user's expiry on renewal (default: the plugin's)."),
  default_ttl: f.duration("Default lease TTL (default: the mount's)."),
  max_ttl: f.duration("Maximum lease TTL (default: the mount's)."),
  credential_type: f.string('Only "password" is supported.'),
  credential_config: f.object('Accepted for compatibility; password credentials take no configuration.'),
};
