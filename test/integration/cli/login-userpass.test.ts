import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from '../server/client.js';
import { bound, cli, ok } from './run.js';

/** `strongroom login --method=userpass` through the real binary against a real server. */
let server: StartedServer;
const dir = mkdtempSync(join(tmpdir(), 'strongroom-cli-userpass-'));
const PASSWORD = 'Tr0ub4dor & 3 horses';
/** Each step spawns a Node process; a loaded machine needs time, not a retry. */
const SLOW = 240_000;

beforeAll(async () => {
  server = await startServer();
  const root = { token: server.rootToken };
  await api(server.url, 'POST', 'sys/auth/userpass', { ...root, body: { type: 'userpass' } });
  await api(server.url, 'POST', 'sys/auth/people', { ...root, body: { type: 'userpass' } });
  await api(server.url, 'POST', 'sys/policies/acl/reader', {
    ...root,
    body: { policy: 'path "secret/data/app/*" { capabilities = ["read"] }' },
  });
  await api(server.url, 'POST', 'secret/data/app/db', { ...root, body: { data: { password: 'pw-1' } } });
  for (const mount of ['userpass', 'people'])
    await api(server.url, 'POST', `auth/${mount}/users/alice`, {
      ...root,
      body: { password: PASSWORD, token_policies: ['reader'] },
    });
});
afterAll(async () => {
  await server?.stop();
});

describe('strongroom login --method=userpass', () => {
  it(
    'reads the password from stdin (password=-), saves the token, and the token reads what the policy grants',
    async () => {
      const home = mkdtempSync(join(tmpdir(), 'strongroom-cli-userpass-home-'));
      const env = { HOME: home, STRONGROOM_ADDR: server.url };
      const login = await cli(['login', '--method=userpass', 'username=alice', 'password=-', '-o', 'json'], {
        env,
        input: `${PASSWORD}\n`,
      });
      expect(login.stderr).toBe('');
      expect(login.code).toBe(0);
      expect(JSON.parse(login.stdout)).toMatchObject({ policies: expect.arrayContaining(['reader']) });
      expect(login.stdout).not.toContain(PASSWORD);
      expect(statSync(join(home, '.strongroom', 'token')).mode & 0o777).toBe(0o600);
      expect((await cli(['kv', 'get', '--field', 'password', 'secret/app/db'], { env })).stdout).toBe('pw-1');
    },
    SLOW,
  );

  it(
    'prompts for the password when none is given (stdin not a terminal: read from it), at another mount with --path',
    async () => {
      const env = { HOME: mkdtempSync(join(tmpdir(), 'strongroom-cli-userpass-home-')), STRONGROOM_ADDR: server.url };
      const login = await cli(
        ['login', '-method=userpass', '-path=people', 'username=alice', '--no-store', '-o', 'json'],
        { env, input: `${PASSWORD}\n` },
      );
      expect(login.code).toBe(0);
      const token = JSON.parse(login.stdout).client_token as string;
      const self = await api(server.url, 'GET', 'auth/token/lookup-self', { token });
      expect(self.body.data).toMatchObject({ display_name: 'people-alice', path: 'auth/people/login/alice' });
    },
    SLOW,
  );

  it(
    'takes password=@file; refuses a wrong password without echoing it; usage errors for missing username',
    async () => {
      const env = { HOME: mkdtempSync(join(tmpdir(), 'strongroom-cli-userpass-home-')), STRONGROOM_ADDR: server.url };
      const file = join(dir, 'password');
      writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
      const viaFile = await cli(['login', '--method=userpass', 'username=alice', `password=@${file}`], { env });
      expect(viaFile.stderr).toBe('');
      expect(viaFile.code).toBe(0);

      const wrong = await cli(['login', '--method=userpass', 'username=alice', 'password=not-the-password-9f'], {
        env,
      });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/invalid username or password/);
      expect(wrong.stderr).not.toContain('not-the-password-9f');

      const noUser = await cli(['login', '--method=userpass', 'password=x'], { env });
      expect(noUser.code).toBe(2);
      expect(noUser.stderr).toMatch(/username=/);
    },
    SLOW,
  );

  it(
    'tunes user lockout with `auth tune` (both flag forms) and shows it in the tune read',
    async () => {
      const run = bound(server.url, server.rootToken);
      ok(await run(['auth', 'tune', '--user-lockout-threshold=7', '--user-lockout-duration', '20m', 'people']));
      ok(
        await run([
          'auth',
          'tune',
          '-user-lockout-counter-reset-duration=5m',
          '-user-lockout-disable=false',
          'people/',
        ]),
      );
      const tune = await api(server.url, 'GET', 'sys/auth/people/tune', { token: server.rootToken });
      expect(tune.body.data).toMatchObject({
        user_lockout_threshold: 7,
        user_lockout_duration: 1200,
        user_lockout_counter_reset_duration: 300,
        user_lockout_disable: false,
      });
    },
    SLOW,
  );
});
