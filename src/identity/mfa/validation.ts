import { createHmac } from 'node:crypto';
import { encodeContext } from '../../crypto/context.js';
import type { Barrier } from '../../crypto/types.js';
import type { MfaRepository } from './repository.js';
import { stepExpiresAt, verifyTotp } from './totp.js';
import type { LoginEnforcement, TotpEnrolment, TotpMethod } from './types.js';

/** Where a TOTP key is sealed: bound to its method and entity, so a key copied to another row does not open. */
export function totpKeyContext(methodId: string, entityId: string): Buffer {
  return encodeContext('identity', 'mfa', 'totp-key', methodId, entityId);
}

/** MFA credentials by method id or name, as sys/mfa/validate's `mfa_payload` and the X-Vault-MFA header give them. */
export type MfaCredentials = Readonly<Record<string, readonly string[]>>;

/** A reason a validation failed, worded as Vault's (never containing a passcode). */
class ValidationFailure extends Error {}

/**
 * Vault's TOTP validation of one method for one entity: the passcode is checked against the entity's key within the
 * skew; attempts per (method, entity) are limited per period (max_validation_attempts); a time step once accepted is
 * never accepted again, on any replica (the used step is recorded in the database before success is reported).
 */
export function createTotpValidator(deps: {
  repo: MfaRepository;
  barrier: Pick<Barrier, 'decryptWithRefresh' | 'hmacKey'>;
  clock: () => number;
}) {
  const { repo, barrier, clock } = deps;

  function passcodeOf(values: readonly string[]): string {
    let passcode = '';
    for (const value of values) {
      if (value === '') continue; // push-style methods send nothing; TOTP needs a passcode
      let candidate = value;
      if (value.startsWith('passcode=')) {
        candidate = value.slice('passcode='.length);
        if (candidate === '') throw new ValidationFailure('invalid passcode');
      } else if (value.includes('=')) {
        throw new ValidationFailure('found an invalid MFA cred');
      }
      if (passcode !== '') throw new ValidationFailure('found multiple passcodes for the same MFA method');
      passcode = candidate;
    }
    if (passcode === '') throw new ValidationFailure('MFA credentials not supplied');
    return passcode;
  }

  async function validate(method: TotpMethod, entityId: string, values: readonly string[]): Promise<void> {
    const passcode = passcodeOf(values);
    const row = await repo.readSecret(method.id, entityId);
    if (!row)
      throw new ValidationFailure(`MFA secret for method name "${method.name}" not present in entity "${entityId}"`);
    const enrolment = JSON.parse(row.params) as TotpEnrolment;
    if (passcode.length !== enrolment.digits) throw new ValidationFailure('failed to validate TOTP passcode');
    const now = clock();
    const max = method.settings.maxValidationAttempts;
    const windowMs = enrolment.period * 1000;
    const attempt = await repo.countAttempt(method.id, entityId, max, now, windowMs);
    if (!attempt.allowed) {
      const wait = Math.max(1, Math.ceil((attempt.windowEnds - now) / 1000));
      throw new ValidationFailure(
        `maximum TOTP validation attempts ${max + 1} exceeded the allowed attempts ${max}. Please try again in ${wait} seconds`,
      );
    }
    const key = await barrier.decryptWithRefresh(row.sealed_key, totpKeyContext(method.id, entityId));
    let step: number | null;
    try {
      step = verifyTotp(key, passcode, now, { ...enrolment });
    } finally {
      key.fill(0);
    }
    if (step === null) throw new ValidationFailure('failed to validate TOTP passcode');
    const used = createHmac('sha256', barrier.hmacKey('mfa-used-code'))
      .update(`${method.id}\0${entityId}\0${step}`)
      .digest('hex');
    if (!(await repo.useCode(used, stepExpiresAt(step, enrolment), now)))
      throw new ValidationFailure('failed to validate TOTP passcode');
    await repo.clearAttempts(method.id, entityId);
  }

  /**
   * Vault's check of one login enforcement: credentials are looked up by method id, then by method name; the first
   * method whose credentials validate satisfies it. Returns null when satisfied, else the reasons (Vault's words).
   */
  async function satisfy(
    enforcement: LoginEnforcement,
    methods: ReadonlyMap<string, TotpMethod>,
    entityId: string,
    credentials: MfaCredentials,
  ): Promise<string | null> {
    const reasons: string[] = [];
    for (const methodId of enforcement.methodIds) {
      const method = methods.get(methodId);
      if (!method) {
        reasons.push(`failed to find MFA config for method ID ${methodId}`);
        continue;
      }
      const values = has(credentials, methodId)
        ? credentials[methodId]
        : method.name !== '' && has(credentials, method.name)
          ? credentials[method.name]
          : undefined;
      if (values === undefined) continue;
      try {
        await validate(method, entityId, values);
        return null;
      } catch (err) {
        if (!(err instanceof ValidationFailure)) throw err;
        reasons.push(err.message);
      }
    }
    reasons.push(`login MFA validation failed for methodID: [${enforcement.methodIds.join(' ')}]`);
    return reasons.join('; ');
  }

  return { satisfy };
}

function has(record: MfaCredentials, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key);
}
