import type { VerifiedLogin } from '../../auth/login.js';
import { base32Decode, totpAt, type TotpAlgorithm } from './totp.js';
import type { MfaDirectory, MfaService } from './types.js';

/** Test helpers for login MFA: a directory double, a verified login, and the code an authenticator would show. */
export function fakeDirectory(
  known: { entities?: string[]; groups?: string[]; mounts?: Array<{ accessor: string; type: string }> } = {},
): MfaDirectory & { entities: Set<string>; groups: Set<string> } {
  const entities = new Set(known.entities ?? []);
  const groups = new Set(known.groups ?? []);
  return {
    entities,
    groups,
    entityExists: async (id) => entities.has(id),
    groupExists: async (id) => groups.has(id),
    authMounts: async () => known.mounts ?? [{ accessor: 'auth_userpass_0a1b2c3d', type: 'userpass' }],
  };
}

export function verifiedLogin(overrides: Partial<VerifiedLogin> = {}): VerifiedLogin {
  const entityId = overrides.entityId ?? 'entity-1';
  return {
    mount: { accessor: 'auth_userpass_0a1b2c3d', path: 'userpass/', type: 'userpass' },
    entityId,
    groupIds: [],
    token: {
      authMethod: 'userpass',
      path: 'auth/userpass/login/alice',
      policies: ['payments-read'],
      displayName: 'userpass-alice',
      meta: { username: 'alice' },
      entityId,
    },
    ...overrides,
  };
}

/** The code an authenticator enrolled from `url` shows at `timeMs`. */
export function codeFrom(url: string, timeMs: number): string {
  const parsed = new URL(url);
  const q = parsed.searchParams;
  return totpAt(base32Decode(q.get('secret')!), timeMs, {
    algorithm: q.get('algorithm') as TotpAlgorithm,
    digits: Number(q.get('digits')) as 6 | 8,
    period: Number(q.get('period')),
  });
}

/** Removes every enforcement and method (tests share one database per engine). */
export async function clearMfa(mfa: MfaService): Promise<void> {
  for (const e of await mfa.listEnforcements()) await mfa.deleteEnforcement(e.name);
  for (const m of await mfa.listMethods()) await mfa.deleteMethod(m.id);
}
