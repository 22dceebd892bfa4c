import { invalid } from '../../shared/errors.js';
import { TOTP_ALGORITHMS, type TotpAlgorithm } from './totp.js';
import type { LoginEnforcement, TotpMethod, TotpSettings } from './types.js';
import type { StoredEnforcement, StoredMethod } from './repository.js';

/** Vault's defaults for a TOTP method (identity/mfa/method/totp). */
export const TOTP_DEFAULTS: Omit<TotpSettings, 'issuer'> = {
  period: 30,
  keySize: 20,
  qrSize: 200,
  algorithm: 'SHA1',
  digits: 6,
  skew: 1,
  maxValidationAttempts: 5,
};

// Bounds Vault does not have, so one write cannot make generate or validate expensive (a huge key or QR image).
const MAX_KEY_SIZE = 512;
const MAX_QR_SIZE = 4096;
const MAX_PERIOD = 86_400;
const MAX_ISSUER = 255;

/**
 * The settings a write produces: Vault's update replaces the whole method, so a field left out takes its default
 * again. Throws 'invalid' with Vault's wording for each rule.
 */
export function totpSettingsFrom(input: Partial<Record<keyof TotpSettings, unknown>>): TotpSettings {
  const algorithm = input.algorithm ?? TOTP_DEFAULTS.algorithm;
  if (typeof algorithm !== 'string' || !(TOTP_ALGORITHMS as readonly string[]).includes(algorithm))
    throw invalid('unrecognized algorithm');
  const digits = input.digits ?? TOTP_DEFAULTS.digits;
  if (digits !== 6 && digits !== 8) throw invalid('digits can only be 6 or 8');
  const period = input.period ?? TOTP_DEFAULTS.period;
  if (typeof period !== 'number' || !Number.isSafeInteger(period) || period <= 0)
    throw invalid('period must be greater than zero');
  if (period > MAX_PERIOD) throw invalid(`period must be at most ${MAX_PERIOD} seconds`);
  const skew = input.skew ?? TOTP_DEFAULTS.skew;
  if (skew !== 0 && skew !== 1) throw invalid('skew must be 0 or 1');
  const keySize = input.keySize ?? TOTP_DEFAULTS.keySize;
  if (typeof keySize !== 'number' || keySize <= 0) throw invalid('key_size must be greater than zero');
  if (keySize > MAX_KEY_SIZE) throw invalid(`key_size must be at most ${MAX_KEY_SIZE}`);
  const qrSize = input.qrSize ?? TOTP_DEFAULTS.qrSize;
  if (typeof qrSize !== 'number' || qrSize < 0) throw invalid('qr_size must not be negative');
  if (qrSize > MAX_QR_SIZE) throw invalid(`qr_size must be at most ${MAX_QR_SIZE}`);
  const issuer = input.issuer;
  if (typeof issuer !== 'string' || issuer === '') throw invalid('issuer must be set');
  if (issuer.length > MAX_ISSUER) throw invalid(`issuer must be at most ${MAX_ISSUER} characters`);
  const attempts = input.maxValidationAttempts ?? 0;
  if (typeof attempts !== 'number' || attempts < 0) throw invalid('max_validation_attempts must be greater than zero');
  return {
    issuer,
    period,
    keySize,
    qrSize,
    algorithm: algorithm as TotpAlgorithm,
    digits,
    skew,
    // As Vault: 0 (or nothing) means the default.
    maxValidationAttempts: attempts === 0 ? TOTP_DEFAULTS.maxValidationAttempts : attempts,
  };
}

export function methodFromRow(row: StoredMethod): TotpMethod {
  return { id: row.id, name: row.name, type: 'totp', settings: JSON.parse(row.settings) as TotpSettings };
}

/** Vault's read of a TOTP method. */
export function methodView(method: TotpMethod): Record<string, unknown> {
  const s = method.settings;
  return {
    id: method.id,
    name: method.name,
    type: method.type,
    namespace_id: 'root',
    namespace_path: '',
    issuer: s.issuer,
    period: s.period,
    key_size: s.keySize,
    qr_size: s.qrSize,
    algorithm: s.algorithm,
    digits: s.digits,
    skew: s.skew,
    max_validation_attempts: s.maxValidationAttempts,
  };
}

type Targets = Omit<LoginEnforcement, 'name' | 'id'>;

export function enforcementFromRow(row: StoredEnforcement): LoginEnforcement {
  return { name: row.name, id: row.id, ...(JSON.parse(row.definition) as Targets) };
}

export function enforcementDefinition(input: Targets): string {
  return JSON.stringify({
    methodIds: input.methodIds,
    authMethodAccessors: input.authMethodAccessors,
    authMethodTypes: input.authMethodTypes,
    identityGroupIds: input.identityGroupIds,
    identityEntityIds: input.identityEntityIds,
  } satisfies Targets);
}

/** Vault's read of a login enforcement. */
export function enforcementView(e: LoginEnforcement): Record<string, unknown> {
  return {
    name: e.name,
    id: e.id,
    namespace_id: 'root',
    namespace_path: '',
    mfa_method_ids: [...e.methodIds],
    auth_method_accessors: [...e.authMethodAccessors],
    auth_method_types: [...e.authMethodTypes],
    identity_group_ids: [...e.identityGroupIds],
    identity_entity_ids: [...e.identityEntityIds],
  };
}
