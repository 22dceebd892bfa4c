import { migrations as auditMigrations } from '../audit/migrations.js';
import { approleAuth } from '../auth/approle/module.js';
import { jwtAuth, oidcAuth } from '../auth/jwt/module.js';
import { kubernetesAuth } from '../auth/kubernetes/module.js';
import { migrations as lockoutMigrations } from '../auth/lockout/migrations.js';
import { tokenAuth } from '../auth/token/module.js';
import { userpassAuth } from '../auth/userpass/module.js';
import { migrations as tokenMigrations } from '../auth/token/migrations.js';
import { migrations as clustersMigrations } from '../clusters/migrations.js';
import { migrations as cryptoMigrations } from '../crypto/migrations.js';
import { cubbyholeEngine } from '../cubbyhole/module.js';
import { databaseEngine } from '../database/module.js';
import { identityEngine } from '../identity/module.js';
import { kvEngine } from '../kv/module.js';
import { migrations as identityMfaMigrations } from '../identity/mfa/migrations.js';
import { migrations as leaseMigrations } from '../leases/migrations.js';
import type { AuthMethodModule, Module, SecretsEngineModule } from '../logical/module.js';
import { migrations as mountsMigrations } from '../mounts/migrations.js';
import type { MountTypeCatalog } from '../mounts/types.js';
import { migrations as passwordsMigrations } from '../passwords/migrations.js';
import { migrations as policyMigrations } from '../policy/migrations.js';
import { invalid } from '../shared/errors.js';
import type { MigrationList } from '../storage/migrations.js';
import { transitEngine } from '../transit/module.js';

/**
 * The registry: every secrets engine and auth method the server offers, one line each. Everything that depends on
 * which modules exist (migrations, services, jobs, the types sys/mounts and sys/auth accept, the routes a mount
 * serves) loops over these lists; see src/logical/module.ts for the descriptor contract.
 *
 * It lives in server/ because the server is the composition root: the one place that knows every domain. Domains
 * never import it (they export their descriptor), nor does storage/ (it is handed the migration list).
 */
export interface Registry {
  secrets: readonly SecretsEngineModule[];
  auth: readonly AuthMethodModule[];
}

export const REGISTRY: Registry = {
  secrets: [kvEngine, transitEngine, cubbyholeEngine, databaseEngine, identityEngine],
  auth: [tokenAuth, approleAuth, kubernetesAuth, userpassAuth, jwtAuth, oidcAuth],
};

/**
 * Tables of the core services (crypto, mount tables, token store, policy, password policies, audit, leases, login
 * MFA), which are not modules.
 */
export const CORE_MIGRATIONS: MigrationList = {
  ...cryptoMigrations,
  ...mountsMigrations,
  ...tokenMigrations,
  ...lockoutMigrations,
  ...policyMigrations,
  ...passwordsMigrations,
  ...auditMigrations,
  ...leaseMigrations,
  // Login MFA is core (the login service asks it at every login), whichever module serves its identity/ paths.
  ...identityMfaMigrations,
  // Operators' cluster summaries and rollout controls (sys/clusters).
  ...clustersMigrations,
};

export function modulesOf(registry: Registry): Module[] {
  return [...registry.secrets, ...registry.auth];
}

/** The core's migrations and every module's; a name used twice is a registry mistake, refused loudly at start-up. */
export function migrationsOf(registry: Registry = REGISTRY, core: MigrationList = CORE_MIGRATIONS): MigrationList {
  const all: Record<string, MigrationList[string]> = { ...core };
  for (const module of modulesOf(registry)) {
    for (const [name, migration] of Object.entries(module.migrations)) {
      if (name in all) throw new Error(`migration ${name} of module ${module.type} is defined twice`);
      all[name] = migration;
    }
  }
  return all;
}

/** What the secrets-engine mount table (sys/mounts) accepts: the engines' types, aliases, defaults and rules. */
export function secretsCatalog(engines: readonly SecretsEngineModule[] = REGISTRY.secrets): MountTypeCatalog {
  const byType = uniqueByType(engines);
  const aliases = new Map<string, { type: string; preset: Readonly<Record<string, string>> }>();
  for (const engine of engines) {
    for (const [alias, preset] of Object.entries(engine.aliases ?? {}))
      aliases.set(alias, { type: engine.type, preset });
  }
  return {
    lookup: (name) => (byType.has(name) ? { type: name, preset: {} } : aliases.get(name)),
    normalizeOptions(type, options, previous) {
      const engine = byType.get(type);
      if (!engine) throw invalid(`unknown secret engine type: ${type}`, { reason: 'mount_type' });
      const merged = { ...engine.defaultOptions, ...options };
      return engine.validateOptions ? engine.validateOptions(merged, previous) : merged;
    },
    isFixed: (type) => byType.get(type)?.fixedPath !== undefined,
  };
}

/** What the auth mount table (sys/auth) accepts: the methods' types; fixed methods (token) cannot be enabled. */
export function authCatalog(methods: readonly AuthMethodModule[] = REGISTRY.auth): MountTypeCatalog {
  const byType = uniqueByType(methods);
  return {
    lookup: (name) => (byType.has(name) ? { type: name, preset: {} } : undefined),
    normalizeOptions: (_type, options) => options,
    isFixed: (type) => byType.get(type)?.fixedPath !== undefined,
  };
}

function uniqueByType<M extends Module>(modules: readonly M[]): Map<string, M> {
  const byType = new Map<string, M>();
  for (const module of modules) {
    if (byType.has(module.type)) throw new Error(`two modules register the type ${module.type}`);
    byType.set(module.type, module);
  }
  return byType;
}
