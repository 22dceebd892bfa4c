import { invalid } from '../../shared/errors.js';
import { cronNext, parseCron } from './cron.js';
import type { StaticRoleConfig, StaticRoleState } from './types.js';

/** Vault's minimums (path_roles.go: minimum rotation period, schedule's minimum rotation window). */
export const MIN_ROTATION_PERIOD_SECONDS = 5;
export const MIN_ROTATION_WINDOW_SECONDS = 3600;
/** Two-account mode without a grace_period: how long the previous account keeps working (ours, not Vault's). */
export const DEFAULT_GRACE_PERIOD_SECONDS = 3600;

/** The fields of a static role write, as the route declares them (undefined: not given). */
export interface StaticRoleInput {
  db_name?: string;
  username?: string;
  alternate_username?: string;
  rotation_period?: number;
  rotation_schedule?: string;
  rotation_window?: number;
  rotation_statements?: string[];
  credential_type?: string;
  grace_period?: number;
}

/**
 * Validates a create (`existing` undefined) or an update (given fields replace the stored ones) the way Vault's
 * pathStaticRoleCreateUpdate does, with its error texts, plus the two-account fields.
 */
export function buildStaticRoleConfig(input: StaticRoleInput, existing?: StaticRoleConfig): StaticRoleConfig {
  const dbName = input.db_name ?? existing?.dbName ?? '';
  if (dbName === '') throw invalid('database name is a required field');

  const username = input.username ?? existing?.username ?? '';
  if (username === '') throw invalid('username is a required field to create a static account');
  if (existing && username !== existing.username) throw invalid('cannot update static account username');

  const alternate = existing ? existing.alternateUsername : (input.alternate_username ?? '') || null;
  if (existing && input.alternate_username !== undefined && (input.alternate_username || null) !== alternate)
    throw invalid('cannot update static account alternate_username');
  if (alternate !== null && alternate === username) throw invalid('alternate_username must differ from username');

  const periodGiven = input.rotation_period !== undefined && input.rotation_period !== 0;
  const scheduleGiven = input.rotation_schedule !== undefined && input.rotation_schedule !== '';
  if (periodGiven && scheduleGiven)
    throw invalid(
      'mutually exclusive fields rotation_period and rotation_schedule were both specified; only one of them can be provided',
    );

  let rotationPeriod: number | null;
  let rotationSchedule: string | null;
  if (periodGiven) {
    rotationPeriod = input.rotation_period as number;
    rotationSchedule = null;
  } else if (scheduleGiven) {
    rotationPeriod = null;
    rotationSchedule = parseCron(input.rotation_schedule as string).source;
  } else {
    rotationPeriod = existing?.rotationPeriod ?? null;
    rotationSchedule = existing?.rotationSchedule ?? null;
  }
  if (rotationPeriod === null && rotationSchedule === null)
    throw invalid('one of rotation_schedule or rotation_period must be provided to create a static account');
  if (rotationPeriod !== null && rotationPeriod < MIN_ROTATION_PERIOD_SECONDS)
    throw invalid(`rotation_period must be ${MIN_ROTATION_PERIOD_SECONDS} seconds or more`);

  let rotationWindow: number | null = null;
  if (input.rotation_window !== undefined && input.rotation_window !== 0) {
    if (rotationPeriod !== null) throw invalid('rotation_window is invalid with use of rotation_period');
    if (input.rotation_window < MIN_ROTATION_WINDOW_SECONDS)
      throw invalid(`rotation_window must be ${MIN_ROTATION_WINDOW_SECONDS} seconds or more`);
    rotationWindow = input.rotation_window;
  } else if (rotationSchedule !== null) {
    rotationWindow = existing?.rotationWindow ?? null;
  }

  const credentialType = input.credential_type ?? existing?.credentialType ?? 'password';
  if (credentialType !== 'password') {
    // Vault's other types (rsa_private_key, client_certificate) are not offered here.
    if (credentialType === 'rsa_private_key' || credentialType === 'client_certificate')
      throw invalid(`credential_type "${credentialType}" is not supported: static roles support "password"`);
    throw invalid(`invalid credential_type "${credentialType}"`);
  }

  let gracePeriod: number | null = null;
  if (alternate === null) {
    if (input.grace_period !== undefined) throw invalid('grace_period is only valid with alternate_username');
  } else {
    gracePeriod = input.grace_period ?? existing?.gracePeriod ?? DEFAULT_GRACE_PERIOD_SECONDS;
    if (gracePeriod < 0) throw invalid('grace_period must not be negative');
  }

  return {
    dbName,
    username,
    alternateUsername: alternate,
    rotationPeriod,
    rotationSchedule,
    rotationWindow,
    rotationStatements: input.rotation_statements ?? existing?.rotationStatements ?? [],
    credentialType: 'password',
    gracePeriod,
  };
}

/** The next rotation after one done at `rotatedAt` (epoch ms): a period later, or the schedule's next time. */
export function nextRotationAfter(config: StaticRoleConfig, rotatedAt: number): number | null {
  if (config.rotationPeriod !== null) return rotatedAt + config.rotationPeriod * 1000;
  return cronNext(parseCron(config.rotationSchedule as string), rotatedAt);
}

/**
 * Whether a scheduled rotation that was due at `state.nextRotation` may still run at `now`: with a rotation_window,
 * only until the window closes (Vault then waits for the next scheduled time). Periods never miss.
 */
export function withinWindow(config: StaticRoleConfig, state: StaticRoleState, now: number): boolean {
  if (config.rotationSchedule === null || config.rotationWindow === null || state.nextRotation === null) return true;
  return now <= state.nextRotation + config.rotationWindow * 1000;
}

/** The roles's accounts in index order: [username] or [username, alternate_username]. */
export function accountsOf(config: StaticRoleConfig): string[] {
  return config.alternateUsername === null ? [config.username] : [config.username, config.alternateUsername];
}
