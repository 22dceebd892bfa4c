import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from '../server/client.js';
import { bound, cli, json, ok, type CliResult } from './run.js';

/**
 * Auth methods as mounts (`strongroom auth …`, login at a mount of one's choosing) and response wrapping
 * (`--wrap-ttl`, `strongroom unwrap`), through the real binary against a real server.
 */
let server: StartedServer;
let run: ReturnType<typeof bound>;
/** Each step spawns a Node process; a loaded machine needs time, not a retry. */
const SLOW = 240_000;
const dir = mkdtempSync(join(tmpdir(), 'strongroom-cli-auth-methods-'));
const SECRET = 'wrapped-pw-7c1e';

beforeAll(async () => {
  server = await startServer();
  run = bound(server.url, server.rootToken);
  ok(await run(['kv', 'put', 'secret/app/db', `password=${SECRET}`]));
});
afterAll(async () => {
  await server?.stop();
});

/** A failure the way scripts see it: this exit code, and exactly one `Error: … — try …` line on stderr. */
function failed(r: CliResult, code: number, message: RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
  expect(r.stderr).toMatch(/^Error: [^\n]+ — try [^\n]+\n$/);
  expect(r.stderr).toMatch(message);
}

type AuthList = Record<string, { type: string; accessor: string; description: string }>;

describe('strongroom auth', () => {
  it(
    'enables methods at their name or any path (both flag forms), lists, tunes and disables them',
    async () => {
      const fresh = json<AuthList>(await run(['auth', 'list', '-o', 'json']));
      expect(Object.keys(fresh)).toEqual(['token/']);

      expect(ok(await run(['auth', 'enable', 'approle'])).stdout).toBe(
        'Success! Enabled approle auth method at: approle/\n',
      );
      ok(await run(['auth', 'enable', '-path=ci-approle', '-description=CI pipelines', 'approle']));
      expect(
        json(
          await run([
            'auth',
            'enable',
            '--path',
            'cluster-a',
            '--description',
            'cluster A',
            'kubernetes',
            '-o',
            'json',
          ]),
        ),
      ).toEqual({ path: 'cluster-a/', type: 'kubernetes' });
      ok(await run(['auth', 'enable', '--path=cluster-b/', 'kubernetes']));

      const listed = json<AuthList>(await run(['auth', 'list', '-o', 'json']));
      expect(Object.keys(listed).sort()).toEqual(['approle/', 'ci-approle/', 'cluster-a/', 'cluster-b/', 'token/']);
      expect(listed['ci-approle/']).toMatchObject({
        type: 'approle',
        description: 'CI pipelines',
        accessor: expect.stringMatching(/^auth_approle_/),
      });
      expect(listed['cluster-a/']).toMatchObject({ type: 'kubernetes', description: 'cluster A' });
      expect(listed['approle/']!.accessor).not.toBe(listed['ci-approle/']!.accessor);
      const table = ok(await run(['auth', 'list'])).stdout;
      expect(table).toMatch(/Path\s+│ Type\s+│ Accessor\s+│ Description/);
      expect(table).toMatch(
        new RegExp(`ci-approle/\\s+│ approle\\s+│ ${listed['ci-approle/']!.accessor}\\s+│ CI pipelines`),
      );

      ok(await run(['auth', 'tune', '--description=CI (new runners)', 'ci-approle']));
      ok(await run(['auth', 'tune', '-description=cluster A, eu-west', 'cluster-a/']));
      const tuned = json<AuthList>(await run(['auth', 'list', '-o', 'json']));
      expect(tuned['ci-approle/']!.description).toBe('CI (new runners)');
      expect(tuned['cluster-a/']!.description).toBe('cluster A, eu-west');
      // Tuning keeps the mount: same accessor.
      expect(tuned['ci-approle/']!.accessor).toBe(listed['ci-approle/']!.accessor);

      expect(ok(await run(['auth', 'disable', 'cluster-b'])).stdout).toContain(
        'Disabled the auth method (if it existed) at: cluster-b/',
      );
      expect(Object.keys(json<AuthList>(await run(['auth', 'list', '-o', 'json'])))).not.toContain('cluster-b/');
      expect(
        (await api(server.url, 'GET', 'auth/cluster-b/role?list=true', { token: server.rootToken })).status,
      ).toBeGreaterThanOrEqual(400);
    },
    SLOW,
  );

  it(
    'answers mistakes with one line and the usual exit codes',
    async () => {
      failed(await run(['auth', 'enable', 'approle']), 1, /already in use.* — try 'strongroom auth list'/);
      failed(await run(['auth', 'enable', 'no-such-method']), 1, /no-such-method/);
      failed(await run(['auth', 'disable', 'token']), 1, /cannot be disabled/);
      failed(await run(['auth', 'tune', '--description=x', 'not-mounted']), 1, /not-mounted/);
      failed(await run(['auth', 'tune', 'approle']), 2, /nothing to change/);
      failed(
        await run(['auth', 'enable', '-colour=red', 'approle']),
        2,
        // Vault's single dash is read as a long flag: the line names it as this CLI spells it.
        /unknown option --colour — try 'strongroom auth enable --help'/,
      );
      failed(await run(['auth', 'enable', 'approle', 'kubernetes']), 2, /expected one TYPE/);
      expect((await run(['auth', 'enable'])).code).toBe(2);
      // Without a token the server refuses, and the line says how to get one.
      failed(await cli(['auth', 'list'], { env: { STRONGROOM_ADDR: server.url } }), 1, /strongroom login/);
    },
    SLOW,
  );

  it(
    'logs in with AppRole at a custom mount (--path and Vault -path=), and not at the default one',
    async () => {
      ok(await run(['auth', 'enable', '--path=team-approle', 'approle']));
      ok(
        await run(['policy', 'write', 'app-read', '-'], {
          input: 'path "secret/data/app/*" { capabilities = ["read"] }',
        }),
      );
      const root = { token: server.rootToken };
      expect(
        (
          await api(server.url, 'POST', 'auth/team-approle/role/ci', {
            ...root,
            body: { token_policies: ['app-read'] },
          })
        ).status,
      ).toBe(204);
      const roleId = (await api(server.url, 'GET', 'auth/team-approle/role/ci/role-id', root)).body.data
        .role_id as string;
      const secretId = () =>
        api(server.url, 'POST', 'auth/team-approle/role/ci/secret-id', root).then(
          (r) => r.body.data.secret_id as string,
        );
      const secretFile = join(dir, 'secret-id');
      writeFileSync(secretFile, `${await secretId()}\n`);

      const home = mkdtempSync(join(tmpdir(), 'strongroom-cli-team-approle-'));
      const env = { HOME: home, STRONGROOM_ADDR: server.url };
      const login = await cli(
        [
          'login',
          '--method=approle',
          '--path=team-approle',
          `role_id=${roleId}`,
          `secret_id=@${secretFile}`,
          '-o',
          'json',
        ],
        { env },
      );
      expect(login.stderr).toBe('');
      expect(JSON.parse(login.stdout)).toMatchObject({ policies: expect.arrayContaining(['app-read']) });
      expect(ok(await cli(['kv', 'get', '--field=password', 'secret/app/db'], { env })).stdout).toBe(SECRET);

      const vaultForm = await cli(
        [
          'login',
          '-method=approle',
          '-path=team-approle/',
          `role_id=${roleId}`,
          'secret_id=-',
          '--no-store',
          '-o',
          'json',
        ],
        { env, input: await secretId() },
      );
      expect(JSON.parse(ok(vaultForm).stdout).client_token).toMatch(/^srs\./);

      // The role lives at team-approle/ only: the default approle/ mount does not know it.
      const elsewhere = await cli(['login', '--method=approle', `role_id=${roleId}`, `secret_id=${await secretId()}`], {
        env,
      });
      expect(elsewhere.code).toBe(1);
      expect(elsewhere.stderr).toMatch(/^Error: .*auth\/approle\/login/);
      // And at a mount where nothing is enabled, the hint says where to look.
      failed(
        await cli(['login', '-method=kubernetes', '-path=cluster-z', 'role=app', 'jwt=x'], { env }),
        1,
        /— try 'strongroom auth list' to see where auth methods are mounted/,
      );
    },
    SLOW,
  );
});

interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
  wrapped_accessor?: string;
}

describe('response wrapping', () => {
  it(
    'kv get --wrap-ttl prints wrap_info, never the data; unwrap hands the secret out once',
    async () => {
      const wrapped = await run(['kv', 'get', '--wrap-ttl=5m', '-o', 'json', 'secret/app/db']);
      expect(wrapped.stdout).not.toContain(SECRET);
      const info = json<WrapInfo>(wrapped);
      expect(info).toMatchObject({
        ttl: 300,
        creation_path: 'secret/data/app/db',
        token: expect.stringMatching(/^srs\./),
        accessor: expect.any(String),
      });
      expect(Date.parse(info.creation_time)).not.toBeNaN();

      const lookup = await api(server.url, 'POST', 'sys/wrapping/lookup', { body: { token: info.token } });
      expect(lookup.body.data).toMatchObject({ creation_ttl: 300, creation_path: 'secret/data/app/db' });

      const unwrapped = json<{ data: Record<string, string>; metadata: { version: number } }>(
        await run(['unwrap', '-', '-o', 'json'], { input: `${info.token}\n` }),
      );
      expect(unwrapped).toMatchObject({ data: { password: SECRET }, metadata: { version: 1 } });

      const again = await run(['unwrap', info.token]);
      failed(again, 1, /^Error: the wrapping token is not valid or does not exist/);
      expect(again.stderr).not.toContain(info.token);
    },
    SLOW,
  );

  it(
    'unwraps the current token when given none, prints one field, and shows the table form',
    async () => {
      const table = ok(await run(['kv', 'get', '--wrap-ttl', '90s', 'secret/app/db'])).stdout;
      expect(table).toMatch(/wrapping_token\s+│ srs\./);
      expect(table).toMatch(/wrapping_token_ttl\s+│ 1m30s/);
      expect(table).toMatch(/wrapping_token_creation_path\s+│ secret\/data\/app\/db/);
      expect(table).not.toContain(SECRET);

      const token = ok(await run(['kv', 'get', '--wrap-ttl=5m', '--field=token', 'secret/app/db'])).stdout;
      expect(token).toMatch(/^srs\.\S+$/);
      // The recipient holds nothing but the wrapping token.
      const recipient = {
        HOME: mkdtempSync(join(tmpdir(), 'strongroom-cli-recipient-')),
        STRONGROOM_ADDR: server.url,
        STRONGROOM_TOKEN: token,
      };
      expect(ok(await cli(['unwrap', '--field=password'], { env: recipient })).stdout).toBe(SECRET);
      failed(await cli(['unwrap'], { env: recipient }), 1, /not valid or does not exist/);
      failed(await cli(['unwrap'], { env: { STRONGROOM_ADDR: server.url } }), 2, /which wrapping token\?/);
    },
    SLOW,
  );

  it(
    'token create --wrap-ttl wraps the new token; unwrapping yields a working token',
    async () => {
      const info = json<WrapInfo>(await run(['token', 'create', '--policy=app-read', '--wrap-ttl=2m', '-o', 'json']));
      expect(info).toMatchObject({
        ttl: 120,
        creation_path: 'auth/token/create',
        wrapped_accessor: expect.any(String),
      });
      const auth = json<{ client_token: string; accessor: string }>(
        await run(['unwrap', '-', '-o', 'json'], { input: info.token }),
      );
      expect(auth.accessor).toBe(info.wrapped_accessor);
      expect(
        ok(
          await run(['kv', 'get', '--field=password', 'secret/app/db'], {
            env: { STRONGROOM_TOKEN: auth.client_token },
          }),
        ).stdout,
      ).toBe(SECRET);
    },
    SLOW,
  );

  it(
    'refuses a malformed or zero --wrap-ttl as a usage error (exit 2) before reading anything',
    async () => {
      for (const ttl of ['5x', '0', 'soon', '-1m']) {
        failed(
          await run(['kv', 'get', `--wrap-ttl=${ttl}`, 'secret/app/db']),
          2,
          /--wrap-ttl must be a positive duration .* — try --wrap-ttl=5m\n$/,
        );
      }
      failed(await run(['token', 'create', '--wrap-ttl=later']), 2, /--wrap-ttl/);
      // Refused before any request: a server that is not there is never asked.
      failed(
        await cli(['kv', 'get', '--wrap-ttl=5x', 'secret/app/db'], { env: { STRONGROOM_ADDR: 'http://127.0.0.1:9' } }),
        2,
        /--wrap-ttl/,
      );
    },
    SLOW,
  );
});

describe('help and completion', () => {
  it(
    'documents the new commands with examples and completes them',
    async () => {
      for (const args of [['auth', 'enable'], ['auth', 'list'], ['auth', 'tune'], ['auth', 'disable'], ['unwrap']]) {
        const r = await cli([...args, '--help']);
        expect({ args, code: r.code }).toEqual({ args, code: 0 });
        expect(r.stdout).toMatch(/Examples?:\n\s+\$ (\S+=\S+ )?strongroom /);
      }
      expect(ok(await cli(['kv', 'get', '--help'])).stdout).toContain('--wrap-ttl <duration>');
      const file = join(dir, 'completion.bash');
      writeFileSync(file, ok(await cli(['completion', 'bash'])).stdout);
      const complete = (line: string) => {
        const words = line.split(' ');
        const script = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _strongroom; printf '%s\\n' "\${COMPREPLY[@]}"`;
        return spawnSync('bash', ['-c', script], { encoding: 'utf8' }).stdout.trim().split('\n');
      };
      expect(complete('strongroom auth ')).toEqual(expect.arrayContaining(['enable', 'disable', 'list', 'tune']));
      expect(complete('strongroom auth enable ')).toEqual(
        expect.arrayContaining(['approle', 'kubernetes', '--path', '--description']),
      );
      expect(complete('strongroom u')).toEqual(['unwrap']);
      expect(complete('strongroom kv get --w')).toEqual(['--wrap-ttl']);
    },
    SLOW,
  );
});
