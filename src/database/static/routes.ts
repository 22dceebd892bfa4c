import { definePath, type BackendPath, type RequestContext } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';
import { StrongroomError } from '../../shared/errors.js';
import type { StaticRolesService } from './service.js';
import type { MountRef, StaticRole } from './types.js';

/** Vault's framework.GenericNameRegex. */
const NAME = '(?<name>\\w(([\\w.-]+)?\\w)?)';

const roleFields = {
  db_name: f.string('Name of the database connection (database/config/<name>) this role uses.'),
  username: f.string('Name of the existing database account whose password is rotated.'),
  alternate_username: f.string(
    'Two-account mode (Strongroom): a second account with the same grants that alternates with username.',
  ),
  rotation_period: f.duration('Seconds between rotations (5 or more); exclusive with rotation_schedule.'),
  rotation_schedule: f.string('A 5-field cron expression (UTC) of rotation times; exclusive with rotation_period.'),
  rotation_window: f.duration('Seconds after a scheduled time a missed rotation may still run (3600 or more).'),
  rotation_statements: f.stringList("Statements that change {{name}}'s password to {{password}}."),
  credential_type: f.string('The kind of credential; only "password".'),
  grace_period: f.duration('Two-account mode: seconds the previously active account keeps working after a rotation.'),
};

const credsQuery = {
  hold: f.bool(
    "Two-account mode: also return a lease that keeps the credential's account from retiring until revoked.",
  ),
};

function mountOf(ctx: RequestContext): MountRef {
  if (!ctx.mount) throw new StrongroomError('internal', 'database backend reached without a mount');
  return { uuid: ctx.mount.uuid, path: ctx.mount.path, type: ctx.mount.type };
}

const nameOf = (ctx: RequestContext): string => ctx.params.name ?? '';
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The schedule part of a role's views: rotation_period, or rotation_schedule and rotation_window (as Vault). */
function scheduleView(role: StaticRole): Record<string, unknown> {
  const { config } = role;
  if (config.rotationPeriod !== null) return { rotation_period: config.rotationPeriod };
  return { rotation_schedule: config.rotationSchedule, rotation_window: config.rotationWindow ?? 0 };
}

function twoAccountView(role: StaticRole): Record<string, unknown> {
  if (role.config.alternateUsername === null) return {};
  return { alternate_username: role.config.alternateUsername, grace_period: role.config.gracePeriod ?? 0 };
}

function roleView(role: StaticRole): Record<string, unknown> {
  return {
    db_name: role.config.dbName,
    username: role.config.username,
    rotation_statements: role.config.rotationStatements,
    credential_type: role.config.credentialType,
    last_vault_rotation: iso(role.state.lastVaultRotation),
    ...scheduleView(role),
    ...twoAccountView(role),
  };
}

/**
 * Vault's static-role paths of the database engine (https://developer.hashicorp.com/vault/api-docs/secret/databases
 * #create-static-role), plus the two-account fields. Spread into the engine's backend paths.
 */
export function staticRolePaths(statics: StaticRolesService): BackendPath[] {
  return [
    definePath({
      name: 'database.static-roles.list',
      pattern: 'static-roles/?',
      synopsis: 'List the static roles.',
      operations: {
        list: async (ctx) => ({ data: { keys: await statics.list(mountOf(ctx)) } }),
      },
    }),
    definePath({
      name: 'database.static-roles',
      pattern: `static-roles/${NAME}`,
      synopsis: 'Manage a static role: a database account whose password the store rotates.',
      fields: roleFields,
      existenceCheck: async (ctx) => (await statics.read(mountOf(ctx), nameOf(ctx))) !== undefined,
      operations: {
        read: async (ctx) => {
          const role = await statics.read(mountOf(ctx), nameOf(ctx));
          // Vault answers an unknown static role with an empty 404.
          return role ? { data: roleView(role) } : { status: 404, raw: { errors: [] } };
        },
        create: async (ctx) => void (await statics.write(mountOf(ctx), nameOf(ctx), ctx.input)),
        update: async (ctx) => void (await statics.write(mountOf(ctx), nameOf(ctx), ctx.input)),
        delete: async (ctx) => void (await statics.delete(mountOf(ctx), nameOf(ctx))),
      },
    }),
    definePath({
      name: 'database.static-creds',
      pattern: `static-creds/${NAME}`,
      synopsis: "Read a static role's current credential.",
      queryFields: credsQuery,
      operations: {
        read: async (ctx) => {
          const cred = await statics.credential(mountOf(ctx), nameOf(ctx));
          const { role } = cred;
          const data: Record<string, unknown> = {
            username: cred.username,
            password: cred.password,
            last_vault_rotation: iso(role.state.lastVaultRotation),
            ...scheduleView(role),
            ttl: cred.ttl,
            generation: role.state.generation,
          };
          if (cred.retiringUsername !== null) {
            data.retiring_username = cred.retiringUsername;
            data.retire_after = iso(role.state.retireAfter);
          }
          const lease = ctx.input.hold
            ? await statics.hold(role, role.state.generation, ctx.token?.accessor ?? null)
            : undefined;
          return {
            data,
            ...(lease ? { lease } : {}),
            auditClearData: [
              'username',
              'last_vault_rotation',
              'ttl',
              'generation',
              'retiring_username',
              'retire_after',
              'rotation_period',
              'rotation_schedule',
              'rotation_window',
            ],
          };
        },
      },
    }),
    definePath({
      name: 'database.rotate-role',
      pattern: `rotate-role/${NAME}`,
      synopsis: "Rotate a static role's password now.",
      operations: {
        update: async (ctx) => void (await statics.rotateNow(mountOf(ctx), nameOf(ctx))),
      },
    }),
  ];
}
