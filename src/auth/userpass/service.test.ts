import { sql } from 'kysely';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import { errorOf } from '../../../test/support/errors.js';
import type { Barrier } from '../../crypto/types.js';
import { unsealedSealService } from '../../crypto/testing.js';
import { NO_IDENTITY } from '../../identity/none.js';
import type { SystemAudit } from '../../logical/module.js';
import { createUserLockout } from '../lockout/service.js';
import { NO_MFA, createLoginService, type LoginRequest, type LoginService } from '../login.js';
import { createTokenService } from '../token/service.js';
import type { AuthMountRef, TokenService } from '../types.js';
import { createUserpassService } from './service.js';
import type { UserpassService } from './types.js';

const HOUR = 3600;
const FAST = { logN: 10, r: 8, p: 1 };
const NO_AUDIT: SystemAudit = { run: async (_entry, action) => action() };

describeEachEngine('userpass auth', (ctx) => {
  let barrier: Barrier;
  let now: number;
  let tokens: TokenService;
  let logins: LoginService;
  let seen: LoginRequest[];
  let userpass: UserpassService;
  let mount: AuthMountRef;
  let seq = 0;

  const build = (m: AuthMountRef) =>
    createUserpassService({
      storage: ctx.storage(),
      barrier,
      logins,
      lockout: createUserLockout({ storage: ctx.storage(), systemAudit: NO_AUDIT, clock: () => now }),
      mount: m,
      clock: () => now,
      scrypt: FAST,
    });
  const login = (name: string, password: string, extra: Record<string, unknown> = {}) =>
    userpass.login(name, password, { remoteAddress: '10.1.2.3', ...extra });

  beforeAll(async () => {
    barrier = (await unsealedSealService(ctx.storage())).barrier;
  });

  beforeEach(() => {
    now = Date.UTC(2026, 0, 1);
    tokens = createTokenService({
      storage: ctx.storage(),
      barrier,
      clock: () => now,
      defaultTtl: 768 * HOUR,
      maxTtl: 768 * HOUR,
    });
    seen = [];
    const real = createLoginService({ identity: NO_IDENTITY, mfa: NO_MFA, tokens });
    logins = { complete: async (req) => (seen.push(req), real.complete(req)), resume: real.resume };
    const id = String(++seq).padStart(8, '0');
    mount = { uuid: `uuid-${id}`, path: 'userpass/', accessor: `auth_userpass_${id}`, type: 'userpass' };
    userpass = build(mount);
  });

  it('creates a user (password required), reads it back without any password, lists and deletes it', async () => {
    expect((await errorOf(userpass.writeUser('alice', { tokenPolicies: ['dev'] }))).message).toBe('missing password');
    await userpass.writeUser('Alice', { password: 's3cret pass', tokenPolicies: ['Dev', 'ops'], tokenTtl: 600 });
    const user = await userpass.readUser('ALICE');
    expect(user).toMatchObject({ username: 'alice', tokenPolicies: ['dev', 'ops'], tokenTtl: 600 });
    expect(JSON.stringify(user)).not.toMatch(/s3cret|scrypt|hash/i);
    expect(await userpass.listUsers()).toEqual(['alice']);
    // An update without a password keeps the password.
    await userpass.writeUser('alice', { tokenTtl: 1200 });
    expect((await login('alice', 's3cret pass')).kind).toBe('token');
    await userpass.deleteUser('alice');
    await userpass.deleteUser('alice');
    expect(await userpass.readUser('alice')).toBeUndefined();
    expect(await userpass.listUsers()).toEqual([]);
  });

  it('stores the scrypt hash sealed by the barrier and bound to its row: a hash copied to another user does not open', async () => {
    await userpass.writeUser('alice', { password: 'alice-pw' });
    await userpass.writeUser('bob', { password: 'bob-pw' });
    const rows = await sql<{ username: string; password_hash: Uint8Array }>`
      select username, password_hash from auth_userpass_users where mount_uuid = ${mount.uuid}`.execute(
      ctx.storage().db,
    );
    for (const row of rows.rows) {
      const bytes = Buffer.from(row.password_hash);
      expect(bytes.toString('latin1')).not.toContain('scrypt$');
      expect(bytes.toString('latin1')).not.toContain('-pw');
    }
    const alice = rows.rows.find((r) => r.username === 'alice')!;
    await sql`update auth_userpass_users set password_hash = ${alice.password_hash}
      where mount_uuid = ${mount.uuid} and username = 'bob'`.execute(ctx.storage().db);
    expect((await errorOf(login('bob', 'alice-pw'))).kind).toBe('internal');
  });

  it('logs in through the login service: alias = username, Vault token display name, metadata and path', async () => {
    await userpass.writeUser('alice', { password: 'pw-1', tokenPolicies: ['dev'], tokenTtl: 900 });
    const outcome = await login('ALICE', 'pw-1', { mfaCredentials: ['totp:123456'] });
    expect(outcome.kind).toBe('token');
    if (outcome.kind !== 'token') return;
    expect(outcome.info).toMatchObject({
      policies: ['default', 'dev'],
      displayName: 'userpass-alice',
      meta: { username: 'alice' },
      authMethod: 'userpass',
      path: 'auth/userpass/login/alice',
      ttl: 900,
    });
    expect(seen[0]).toMatchObject({
      mount: { accessor: mount.accessor, path: 'userpass/', type: 'userpass' },
      alias: { name: 'alice', metadata: { username: 'alice' } },
      mfaCredentials: ['totp:123456'],
    });
    expect((await tokens.authenticate(outcome.token)).accessor).toBe(outcome.info.accessor);
    // Another mount path shows in the display name, as Vault prefixes it.
    const people = build({ ...mount, uuid: `${mount.uuid}-p`, path: 'people/', accessor: `${mount.accessor}p` });
    await people.writeUser('alice', { password: 'pw-2' });
    const other = await people.login('alice', 'pw-2', { remoteAddress: '10.1.2.3' });
    expect(other.kind === 'token' && other.info.displayName).toBe('people-alice');
    // Users are per mount: the first mount's password does not open the second.
    expect((await errorOf(people.login('alice', 'pw-1', { remoteAddress: '10.1.2.3' }))).kind).toBe('invalid');
  });

  it('answers a wrong password and an unknown user the same way: 400 "invalid username or password"', async () => {
    await userpass.writeUser('alice', { password: 'right' });
    const wrong = await errorOf(login('alice', 'wrong'));
    const unknown = await errorOf(login('mallory', 'whatever'));
    expect([wrong.kind, wrong.message]).toEqual(['invalid', 'invalid username or password']);
    expect([unknown.kind, unknown.message]).toEqual([wrong.kind, wrong.message]);
    expect((await errorOf(login('alice', ''))).message).toBe('missing password');
    expect(seen).toEqual([]);
  });

  it('locks a user after the threshold (even the right password is refused), releases after the duration', async () => {
    await userpass.writeUser('alice', { password: 'right' });
    const lockout = { threshold: 2, durationSeconds: 60, counterResetSeconds: 60, disable: false };
    await errorOf(login('alice', 'wrong', { lockout }));
    await errorOf(login('alice', 'wrong', { lockout }));
    const locked = await errorOf(login('alice', 'right', { lockout }));
    expect([locked.kind, locked.message]).toEqual(['forbidden', 'permission denied']);
    now += 60_000;
    expect((await login('alice', 'right', { lockout })).kind).toBe('token');
    // The success reset the count: one more failure does not lock.
    await errorOf(login('alice', 'wrong', { lockout }));
    expect((await login('alice', 'right', { lockout })).kind).toBe('token');
  });

  it('locks unknown usernames too, so a lockout never tells which usernames exist', async () => {
    const lockout = { threshold: 2, durationSeconds: 60, counterResetSeconds: 60, disable: false };
    await errorOf(login('ghost', 'a', { lockout }));
    await errorOf(login('ghost', 'b', { lockout }));
    expect((await errorOf(login('ghost', 'c', { lockout }))).message).toBe('permission denied');
  });

  it('refuses a login from outside token_bound_cidrs, and binds the token to them', async () => {
    await userpass.writeUser('alice', { password: 'pw', tokenBoundCidrs: ['10.0.0.0/8'] });
    expect((await errorOf(userpass.login('alice', 'pw', { remoteAddress: '192.168.1.1' }))).kind).toBe('forbidden');
    const ok = await login('alice', 'pw');
    expect(ok.kind === 'token' && ok.info.boundCidrs).toEqual(['10.0.0.0/8']);
  });

  it('changes a password and the policies; both refuse a user that does not exist', async () => {
    await userpass.writeUser('alice', { password: 'old' });
    await userpass.setPassword('alice', 'new');
    expect((await errorOf(login('alice', 'old'))).kind).toBe('invalid');
    expect((await login('alice', 'new')).kind).toBe('token');
    await userpass.setPolicies('alice', ['b', 'a'], false);
    expect((await userpass.readUser('alice'))?.tokenPolicies).toEqual(['a', 'b']);
    expect((await errorOf(userpass.setPassword('nobody', 'x'))).message).toBe('username does not exist');
    expect((await errorOf(userpass.setPolicies('nobody', ['a'], false))).message).toBe('username does not exist');
    expect((await errorOf(userpass.setPassword('alice', ''))).message).toBe('missing password');
    expect((await errorOf(userpass.setPassword('alice', 'x'.repeat(1025)))).message).toBe(
      'password must be at most 1024 bytes',
    );
  });

  it('refuses usernames Vault would not route', async () => {
    for (const bad of ['', 'a/b', '-lead', 'trail.', 'x'.repeat(129), 'sp ace']) {
      expect((await errorOf(userpass.writeUser(bad, { password: 'p' }))).kind).toBe('invalid');
    }
    await userpass.writeUser('a.b-c_d', { password: 'p' });
  });
});
