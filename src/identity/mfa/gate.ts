import { createHmac, randomUUID } from 'node:crypto';
import type { MfaGate, MfaRequirement, VerifiedLogin } from '../../auth/login.js';
import { encodeContext } from '../../crypto/context.js';
import type { Barrier } from '../../crypto/types.js';
import { forbidden, invalid } from '../../shared/errors.js';
import type { Storage } from '../../storage/database.js';
import { createMfaRepository } from './repository.js';
import { enforcementFromRow, methodFromRow } from './settings.js';
import type { LoginEnforcement, TotpMethod } from './types.js';
import { createTotpValidator, type MfaCredentials } from './validation.js';

/** How long a parked login waits for sys/mfa/validate: Vault's default MFA auth response TTL (300 s). */
export const PARKED_LOGIN_TTL_MS = 300_000;
/** Failed sys/mfa/validate calls a parked login survives (Vault relies on the TOTP attempt limit alone). */
export const MAX_PARKED_ATTEMPTS = 5;
const TIDY_EVERY_MS = 60_000;

/**
 * Vault's login MFA gate (the `MfaGate` of src/auth/login.ts). At every login it finds the enforcements that apply
 * (by entity, by any of the entity's groups, by the auth mount's accessor or type). With X-Vault-MFA credentials it
 * validates them at once (single-phase); without, it parks the login — the token it will get is already decided and
 * sealed with the barrier under the HMAC of a random request id — and answers with Vault's mfa_requirement.
 * `resume` (sys/mfa/validate) hands a parked login back once, after every applicable enforcement is satisfied.
 */
export function createMfaGate(deps: {
  storage: Pick<Storage, 'db'>;
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'hmacKey'>;
  clock?: () => number;
  parkedTtlMs?: number;
}): MfaGate & { tidy(): Promise<number> } {
  const repo = createMfaRepository(deps.storage);
  const clock = deps.clock ?? Date.now;
  const ttl = deps.parkedTtlMs ?? PARKED_LOGIN_TTL_MS;
  const validator = createTotpValidator({ repo, barrier: deps.barrier, clock });
  let lastTidy = 0;

  const requestIdHash = (requestId: string) =>
    createHmac('sha256', deps.barrier.hmacKey('mfa-request-id')).update(requestId).digest('hex');
  const parkedContext = (idHash: string) => encodeContext('identity', 'mfa', 'parked-login', idHash);

  async function applicable(login: VerifiedLogin): Promise<LoginEnforcement[]> {
    const all = (await repo.listEnforcements()).map(enforcementFromRow);
    return all.filter(
      (e) =>
        (login.entityId !== '' && e.identityEntityIds.includes(login.entityId)) ||
        e.identityGroupIds.some((g) => login.groupIds.includes(g)) ||
        e.authMethodAccessors.includes(login.mount.accessor) ||
        e.authMethodTypes.includes(login.mount.type),
    );
  }

  async function methodsOf(enforcements: readonly LoginEnforcement[]): Promise<Map<string, TotpMethod>> {
    const ids = new Set(enforcements.flatMap((e) => e.methodIds));
    const methods = new Map<string, TotpMethod>();
    for (const id of ids) {
      const row = await repo.readMethod(id);
      if (row) methods.set(id, methodFromRow(row));
    }
    return methods;
  }

  /** Every enforcement must be satisfied; the first that is not names the failure (Vault's words). */
  async function firstUnsatisfied(
    enforcements: readonly LoginEnforcement[],
    entityId: string,
    credentials: MfaCredentials,
  ): Promise<string | null> {
    const methods = await methodsOf(enforcements);
    for (const enforcement of enforcements) {
      const reason = await validator.satisfy(enforcement, methods, entityId, credentials);
      if (reason !== null) return `failed to satisfy enforcement ${enforcement.name}. error: ${reason}`;
    }
    return null;
  }

  async function tidySometimes(now: number): Promise<void> {
    if (now - lastTidy < TIDY_EVERY_MS) return;
    lastTidy = now;
    await repo.tidy(now);
  }

  async function park(login: VerifiedLogin, enforcements: LoginEnforcement[]): Promise<MfaRequirement> {
    const now = clock();
    const requestId = randomUUID();
    const idHash = requestIdHash(requestId);
    const sealed = deps.barrier.encrypt(Buffer.from(JSON.stringify(login), 'utf8'), parkedContext(idHash));
    await repo.park({ id_hash: idHash, sealed_login: sealed, attempts: 0, expires_at: now + ttl });
    const methods = await methodsOf(enforcements);
    const constraints: MfaRequirement['constraints'] = {};
    for (const e of enforcements) {
      constraints[e.name] = {
        any: e.methodIds
          .map((id) => methods.get(id))
          .filter((m): m is TotpMethod => m !== undefined)
          .map((m) => ({ type: m.type, id: m.id, name: m.name, usesPasscode: true })),
      };
    }
    return { requestId, constraints };
  }

  return {
    async check(login, credentials) {
      const enforcements = await applicable(login);
      if (enforcements.length === 0) return null;
      // Expired parked logins, used codes and attempt windows go now and then, on the logins that make them.
      await tidySometimes(clock());
      // As Vault: MFA needs an entity to hold the secret; without one, a login an enforcement covers cannot pass.
      if (login.entityId === '') throw forbidden();
      if (credentials && credentials.length > 0) {
        // Single-phase (X-Vault-MFA): any failure is a plain permission denied, as in Vault.
        if ((await firstUnsatisfied(enforcements, login.entityId, parseMfaHeader(credentials))) !== null)
          throw forbidden();
        return null;
      }
      return park(login, enforcements);
    },

    async resume(requestId, payload) {
      if (typeof requestId !== 'string' || requestId === '') throw invalid('missing request ID');
      const now = clock();
      const idHash = requestIdHash(requestId);
      const row = await repo.readParked(idHash, now);
      if (!row) throw invalid('invalid request ID');
      const plaintext = await deps.barrier.decryptWithRefresh(row.sealed_login, parkedContext(idHash));
      const login = JSON.parse(plaintext.toString('utf8')) as VerifiedLogin;
      // The enforcements as they are now: one added meanwhile applies, one removed no longer does.
      const enforcements = await applicable(login);
      if (enforcements.length === 0) {
        await repo.takeParked(idHash, now);
        throw forbidden('no login enforcement applies to this login any more; log in again');
      }
      const failure = await firstUnsatisfied(enforcements, login.entityId, payload);
      if (failure !== null) {
        await repo.failParked(idHash, MAX_PARKED_ATTEMPTS);
        throw forbidden(failure);
      }
      // Single use: of two concurrent validations, only the one that takes the row gets the token.
      if (!(await repo.takeParked(idHash, clock()))) throw invalid('invalid request ID');
      return login;
    },

    tidy: () => repo.tidy(clock()),
  };
}

/**
 * Vault's X-Vault-MFA values: "<method name or id>:<passcode>", or just "<method name or id>" for a method without a
 * passcode. Repeated methods collect their values.
 */
export function parseMfaHeader(values: readonly string[]): Record<string, string[]> {
  const credentials: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const value of values) {
    if (value === '') continue;
    const colon = value.indexOf(':');
    if (colon === -1) {
      credentials[value] ??= [];
      continue;
    }
    const method = value.slice(0, colon);
    const passcode = value.slice(colon + 1);
    if (method === '') throw invalid('invalid data in header "X-Vault-MFA"; missing method name or ID');
    if (passcode === '') throw invalid('invalid data in header "X-Vault-MFA"; missing method value');
    (credentials[method] ??= []).push(passcode);
  }
  return credentials;
}
