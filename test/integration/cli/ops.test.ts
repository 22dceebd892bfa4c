import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { bound, cli, json, ok } from './run.js';

/** Each step spawns a Node process; a loaded machine needs time, not a retry. */
const SLOW = 240_000;
const dir = mkdtempSync(join(tmpdir(), 'strongroom-cli-ops-'));
describe('strongroom status and operator (production-mode server)', () => {
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer({ dev: false });
  });
  afterAll(async () => {
    await server?.stop();
  }, SLOW);

  it(
    'initializes, seals, unseals share by share (stdin and argument), rotates and rewraps',
    async () => {
      const env = { STRONGROOM_ADDR: server.url };
      const uninit = await cli(['status', '-o', 'json'], { env });
      expect(JSON.parse(uninit.stdout)).toMatchObject({ initialized: false });

      const init = json<{ keys_base64: string[]; root_token: string }>(
        await cli(['operator', 'init', '--key-shares', '3', '--key-threshold', '2', '-o', 'json'], { env }),
      );
      expect(init.keys_base64).toHaveLength(3);
      const run = bound(server.url, init.root_token);
      // As `vault operator init`: the store stays sealed until the threshold of keys is given.
      const afterInit = await run(['status', '-o', 'json']);
      expect(afterInit.code).toBe(2);
      expect(JSON.parse(afterInit.stdout)).toMatchObject({ initialized: true, sealed: true, n: 3, t: 2, progress: 0 });
      expect((await run(['operator', 'init', '--key-shares', '1', '--key-threshold', '2'])).code).toBe(2);
      expect(json(await run(['operator', 'unseal', '-o', 'json', init.keys_base64[1]!]))).toMatchObject({
        sealed: true,
        progress: 1,
      });
      expect(json(await run(['operator', 'unseal', '-o', 'json', init.keys_base64[0]!]))).toMatchObject({
        sealed: false,
      });
      expect(json(await run(['status', '-o', 'json']))).toMatchObject({ initialized: true, sealed: false, n: 3, t: 2 });

      ok(await run(['operator', 'seal']));
      const sealed = await run(['status']);
      expect(sealed.code).toBe(2); // as `vault status`: 2 means sealed
      expect(sealed.stdout).toMatch(/Sealed\s*│\s*true/);
      const kvWhileSealed = await run(['kv', 'get', 'secret/x']);
      expect(kvWhileSealed.code).toBe(1);
      expect(kvWhileSealed.stderr).toMatch(/operator unseal/);

      const first = json<{ sealed: boolean; progress: number }>(
        await run(['operator', 'unseal', '-', '-o', 'json'], { input: `${init.keys_base64[0]}\n` }),
      );
      expect(first).toMatchObject({ sealed: true, progress: 1 });
      const second = json<{ sealed: boolean }>(await run(['operator', 'unseal', '-o', 'json', init.keys_base64[2]!]));
      expect(second.sealed).toBe(false);

      const rotated = json<{ term: number }>(await run(['operator', 'rotate', '-o', 'json']));
      expect(rotated.term).toBeGreaterThanOrEqual(2);
      const rewrapped = json<{ rewrapped: number; term: number }>(await run(['operator', 'rewrap', '-o', 'json']));
      expect(rewrapped.term).toBe(rotated.term);
      expect(ok(await run(['operator', 'rewrap'])).stdout).toMatch(/Success! rewrapped \d+ records to key term/);
    },
    SLOW,
  );
});

describe('client commands against a dev server', () => {
  let server: StartedServer;
  let run: ReturnType<typeof bound>;
  const auditFile = join(dir, 'audit.log');
  beforeAll(async () => {
    server = await startServer({ args: [`--audit-file=${auditFile}`] });
    run = bound(server.url, server.rootToken);
  });
  afterAll(async () => {
    await server?.stop();
  }, SLOW);

  it(
    'verifies the audit file, detects tampering, and queries and tails the database device',
    async () => {
      ok(await run(['audit', 'enable', 'database']));
      expect(Object.keys(json<Record<string, unknown>>(await run(['audit', 'list', '-o', 'json'])))).toEqual(
        expect.arrayContaining(['audit-file/', 'database/']),
      );
      ok(await run(['kv', 'put', 'secret/audited/db', 'password=audited-value']));
      ok(await run(['kv', 'get', 'secret/audited/db']));

      const verified = json<{ ok: boolean; entries: number }>(await cli(['audit', 'verify', '-o', 'json', auditFile]));
      expect(verified.ok).toBe(true);
      expect(verified.entries).toBeGreaterThan(4);
      const lines = readFileSync(auditFile, 'utf8').split('\n');
      const tampered = join(dir, 'tampered.log');
      writeFileSync(tampered, [...lines.slice(0, 1), ...lines.slice(2)].join('\n'));
      const bad = await cli(['audit', 'verify', tampered]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/FAILED .*line 2/);
      expect((await cli(['audit', 'verify', join(dir, 'missing.log')])).code).toBe(2);

      const reads = json<Array<{ request: { path: string; operation: string }; auth: { display_name: string } }>>(
        await run([
          'audit',
          'query',
          '--path',
          'secret/data/audited/db',
          '--operation',
          'read',
          '--since',
          '1h',
          '-o',
          'json',
        ]),
      );
      expect(reads.length).toBeGreaterThanOrEqual(2);
      expect(reads.every((r) => r.request.path === 'secret/data/audited/db' && r.request.operation === 'read')).toBe(
        true,
      );
      expect(reads[0]!.auth.display_name).toBe('root');
      const byIdentity = json<unknown[]>(
        await run(['audit', 'query', '--identity', 'root', '--path', 'secret/data/audited/*', '-o', 'json']),
      );
      expect(byIdentity.length).toBeGreaterThanOrEqual(4);
      expect(json<unknown[]>(await run(['audit', 'query', '--identity', 'nobody', '-o', 'json']))).toEqual([]);
      const successes = json<Array<{ type: string; error?: string }>>(
        await run(['audit', 'query', '--outcome', 'success', '--remote-address', '127.0.0.1', '-o', 'json']),
      );
      expect(successes.length).toBeGreaterThan(0);
      expect(successes.every((r) => r.type === 'response' && r.error === undefined)).toBe(true);
      expect((await run(['audit', 'query', '--outcome', 'maybe'])).code).toBe(2);
      const table = ok(
        await run(['audit', 'query', '--path', 'secret/data/audited/db', '--since', '2020-01-01T00:00:00Z']),
      ).stdout;
      expect(table).toContain('secret/data/audited/db');
      expect(table).not.toContain('audited-value');
      expect((await run(['audit', 'query', '--since', 'yesterday'])).code).toBe(2);

      const tail = YAML.parse(ok(await run(['audit', 'tail', '-n', '3', '-o', 'yaml'])).stdout) as Array<{
        time: string;
      }>;
      expect(tail).toHaveLength(3);
      expect(Date.parse(tail[0]!.time)).toBeLessThanOrEqual(Date.parse(tail[2]!.time));
    },
    SLOW,
  );

  it(
    'tails with -f: prints entries written after it started',
    async () => {
      const { spawn } = await import('node:child_process');
      const { BIN } = await import('./run.js');
      const proc = spawn(
        process.execPath,
        [BIN, 'audit', 'tail', '-f', '-n', '1', '--interval', '200', '--path', 'secret/data/followed', '-o', 'json'],
        {
          env: { ...process.env, STRONGROOM_ADDR: server.url, STRONGROOM_TOKEN: server.rootToken, NO_COLOR: '1' },
        },
      );
      let out = '';
      proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      await new Promise((r) => setTimeout(r, 1500));
      ok(await run(['kv', 'put', 'secret/followed', 'k=v']));
      for (let i = 0; i < 100 && !out.includes('secret/data/followed'); i++)
        await new Promise((r) => setTimeout(r, 100));
      proc.kill('SIGINT');
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { request: { path: string } });
      expect(lines.some((l) => l.request.path === 'secret/data/followed')).toBe(true);
    },
    SLOW,
  );

  it(
    'imports .env, JSON, YAML and Kubernetes Secret manifests with dry-run, and exports them back',
    async () => {
      const envFile = join(dir, 'web.env');
      writeFileSync(envFile, '# web settings\nexport API_KEY=abc123\nGREETING="hello\\nworld"\nEMPTY=\n');
      const dry = json<{ dry_run: boolean; secrets: Array<{ path: string; status: string; added: string[] }> }>(
        await run(['import', '--prefix', 'secret/imp/', '--dry-run', '-o', 'json', envFile]),
      );
      expect(dry).toEqual({
        dry_run: true,
        secrets: [
          {
            path: 'secret/imp/web',
            status: 'new',
            added: ['API_KEY', 'EMPTY', 'GREETING'],
            changed: [],
            removed: [],
            unchanged: [],
          },
        ],
      });
      expect((await run(['kv', 'get', 'secret/imp/web'])).code).toBe(1);
      ok(await run(['import', '--prefix', 'secret/imp/', envFile]));
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/imp/web']))).toMatchObject({
        data: { API_KEY: 'abc123', GREETING: 'hello\nworld', EMPTY: '' },
      });

      writeFileSync(envFile, 'API_KEY=changed-value\nGREETING="hello\\nworld"\nNEW=1\n');
      const dryTable = await run(['import', '--prefix', 'secret/imp/', '--dry-run', envFile]);
      expect(dryTable.stdout).toMatch(/secret\/imp\/web\s*│\s*changed\s*│\s*NEW\s*│\s*API_KEY\s*│\s*EMPTY/);
      expect(dryTable.stdout).not.toContain('changed-value');
      expect(dryTable.stdout).toContain('Dry run: nothing written');

      const manifests = join(dir, 'secrets.yaml');
      writeFileSync(
        manifests,
        [
          'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\ntype: Opaque\ndata:\n  password: ' +
            Buffer.from('k8s-pass').toString('base64') +
            '\n  user: ' +
            Buffer.from('admin').toString('base64'),
          'apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\nstringData:\n  note: plain text\ndata:\n  note: ' +
            Buffer.from('overridden').toString('base64'),
        ].join('\n---\n'),
      );
      const k8s = json<{ secrets: Array<{ path: string; status: string }> }>(
        await run(['import', '--prefix', 'secret/k8s/', '-o', 'json', manifests]),
      );
      expect(k8s.secrets.map((s) => [s.path, s.status])).toEqual([
        ['secret/k8s/prod/db', 'new'], // <prefix><namespace>/<name>
        ['secret/k8s/tls', 'new'],
      ]);
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/k8s/prod/db']))).toMatchObject({
        data: { password: 'k8s-pass', user: 'admin' },
      });
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/k8s/tls']))).toMatchObject({
        data: { note: 'plain text' },
      });
      const again = json<{ secrets: Array<{ status: string }> }>(
        await run(['import', '--prefix', 'secret/k8s/', '-o', 'json', manifests]),
      );
      expect(again.secrets.map((s) => s.status)).toEqual(['unchanged', 'unchanged']);

      const jsonFile = join(dir, 'many.json');
      writeFileSync(jsonFile, JSON.stringify({ 'a/one': { k: '1' }, 'a/two': { k: '2', n: 3 } }));
      ok(await run(['import', '--prefix', 'secret/j/', jsonFile]));
      expect(json(await run(['kv', 'list', '-o', 'json', 'secret/j/a/']))).toEqual(['one', 'two']);
      const flat = join(dir, 'flat.yml');
      writeFileSync(flat, 'host: db.internal\nport: "5432"\n');
      ok(await run(['import', '--prefix', 'secret/j/', flat]));
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/j/flat']))).toMatchObject({
        data: { host: 'db.internal', port: '5432' },
      });

      // Export round trip: JSON and YAML of a folder, env of one secret, re-imported into another server's state.
      const exported = json<Record<string, Record<string, unknown>>>(
        await run(['export', 'secret/j/', 'secret/k8s/prod/db']),
      );
      expect(exported).toEqual({
        'secret/j/a/one': { k: '1' },
        'secret/j/a/two': { k: '2', n: 3 },
        'secret/j/flat': { host: 'db.internal', port: '5432' },
        'secret/k8s/prod/db': { password: 'k8s-pass', user: 'admin' },
      });
      const yamlOut = ok(await run(['export', '--format', 'yaml', 'secret/j/'])).stdout;
      expect(YAML.parse(yamlOut)).toEqual({
        'secret/j/a/one': { k: '1' },
        'secret/j/a/two': { k: '2', n: 3 },
        'secret/j/flat': { host: 'db.internal', port: '5432' },
      });
      const envOut = ok(await run(['export', '--format', 'env', 'secret/imp/web'])).stdout;
      const roundFile = join(dir, 'round.env');
      writeFileSync(roundFile, envOut);
      ok(await run(['import', '--prefix', 'secret/round/', '--name', 'web', roundFile]));
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/round/web']))).toMatchObject({
        data: { API_KEY: 'abc123', GREETING: 'hello\nworld', EMPTY: '' },
      });

      const backup = join(dir, 'backup.yaml');
      writeFileSync(backup, yamlOut);
      ok(await run(['kv', 'metadata', 'delete', 'secret/j/flat']));
      const restore = json<{ secrets: Array<{ path: string; status: string }> }>(
        await run(['import', '-o', 'json', backup]),
      );
      expect(restore.secrets.map((s) => [s.path, s.status])).toEqual([
        ['secret/j/a/one', 'unchanged'],
        ['secret/j/a/two', 'unchanged'],
        ['secret/j/flat', 'new'],
      ]);

      const invalid = join(dir, 'bad.env');
      writeFileSync(invalid, 'GOOD=1\nthis line is wrong\n');
      const badImport = await run(['import', '--prefix', 'secret/imp/', invalid]);
      expect(badImport.code).toBe(2);
      expect(badImport.stderr).toMatch(/^Error: .*bad\.env line 2 is not KEY=VALUE/);
    },
    SLOW,
  );

  it(
    'prints bash, zsh and fish completion scripts that complete commands and flags',
    async () => {
      const bash = ok(await cli(['completion', 'bash'])).stdout;
      const file = join(dir, 'completion.bash');
      writeFileSync(file, bash);
      const complete = (line: string) => {
        const words = line.split(' ');
        const script = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _strongroom; printf '%s\\n' "\${COMPREPLY[@]}"`;
        const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
        expect(r.status).toBe(0);
        return r.stdout.trim().split('\n');
      };
      expect(complete('strongroom k')).toEqual(expect.arrayContaining(['kv', 'kms-plugin']));
      expect(complete('strongroom kv ')).toEqual(
        expect.arrayContaining(['put', 'get', 'history', 'rollback', 'diff', 'metadata']),
      );
      expect(complete('strongroom kv get --f')).toEqual(['--field']);
      expect(complete('strongroom kv metadata ')).toEqual(expect.arrayContaining(['get', 'put', 'delete']));
      const zsh = ok(await cli(['completion', 'zsh'])).stdout;
      expect(zsh.startsWith('#compdef strongroom\n')).toBe(true);
      expect(zsh).toContain("'kv metadata'");
      expect(zsh).toContain('compdef _strongroom strongroom');
      const fish = ok(await cli(['completion', 'fish'])).stdout;
      expect(fish).toContain("complete -c strongroom -f -a '(__strongroom_words)'");
      expect(fish).toMatch(/case 'kv metadata'\n\s+printf '%s\\n' .*'get'/);
      expect((await cli(['completion', 'tcsh'])).code).toBe(2);
    },
    SLOW,
  );

  it(
    'shows --help with an example on every client command',
    async () => {
      for (const args of [
        ['kv', 'put'],
        ['kv', 'diff'],
        ['kv', 'metadata', 'put'],
        ['token', 'create'],
        ['login'],
        ['audit', 'query'],
        ['import'],
        ['export'],
        ['operator', 'unseal'],
        ['policy', 'fmt'],
      ]) {
        const r = await cli([...args, '--help']);
        expect({ args, code: r.code }).toEqual({ args, code: 0 });
        expect(r.stdout).toMatch(/Examples?:\n\s+\$ strongroom /);
      }
    },
    SLOW,
  );

  it(
    'never echoes a secret value or token to stderr, even when commands fail',
    async () => {
      const secret = 'SuperSecretValue-9f8e7d6c5b4a';
      const tokenish = 'srs.LeakedTokenValue0123456789abcdef';
      const file = join(dir, 'secret-file');
      writeFileSync(file, secret);
      const attempts: Array<[string[], string | undefined]> = [
        [['kv', 'put', 'nomount/x', `password=${secret}`], undefined],
        [['kv', 'put', 'secret/x', `password=${secret}`, `password=${secret}`], undefined],
        [['kv', 'put', 'secret/x', `=${secret}`], undefined],
        [['kv', 'put', 'secret/x', `a=-`, `b=-`], secret],
        [['kv', 'put', 'secret/x', `a=@${join(dir, 'nope')}`], undefined],
        [['kv', 'put', '--cas', '999', 'secret/x', `password=${secret}`], undefined],
        [['kv', 'put', 'secret/x', '-'], `{"password": "${secret}"`],
        [['login', '-'], tokenish],
        [['login', tokenish], undefined],
        [['login', '-method=approle', 'role_id=nope', `secret_id=${secret}`], undefined],
        [['token', 'lookup', '-'], tokenish],
        [['kv', 'metadata', 'put', '--custom-metadata', `k${secret}`, 'secret/x'], undefined],
      ];
      for (const [args, input] of attempts) {
        const r = await run(args, input === undefined ? {} : { input });
        expect({ args, code: r.code === 0 ? 0 : 'failed' }).toEqual({ args, code: 'failed' });
        expect(r.stderr).not.toContain(secret);
        expect(r.stderr).not.toContain(tokenish);
        expect(r.stderr).not.toContain(server.rootToken);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      }
      // Revoking an unknown token succeeds (idempotent, as Vault); it is not echoed either way.
      const revoke = await run(['token', 'revoke', tokenish]);
      expect(revoke.stdout + revoke.stderr).not.toContain(tokenish);
      // An unseal key sent to an unsealed store is ignored; it is not echoed either.
      const unseal = await run(['operator', 'unseal', secret]);
      expect(unseal.stdout + unseal.stderr).not.toContain(secret);
      // With a bad token in the environment, errors do not print it either.
      const r = await cli(['kv', 'get', 'secret/x'], {
        env: { STRONGROOM_ADDR: server.url, STRONGROOM_TOKEN: tokenish },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain(tokenish);
    },
    SLOW,
  );

  it(
    'explains connection and TLS problems in one line',
    async () => {
      const refused = await cli(['kv', 'get', 'secret/x'], { env: { STRONGROOM_ADDR: 'http://127.0.0.1:1' } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^Error: cannot reach a Strongroom server at http:\/\/127\.0\.0\.1:1 .* — try /);
      const badUrl = await cli(['status', '--address', 'ftp://x']);
      expect(badUrl.code).toBe(2);
      const noCa = await cli(['status', '--ca-cert', join(dir, 'missing.pem'), '--address', 'https://127.0.0.1:1']);
      expect(noCa.code).toBe(2);
      expect(noCa.stderr).toMatch(/CA certificate/);
    },
    SLOW,
  );
});
