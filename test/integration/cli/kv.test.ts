import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { bound, json, ok } from './run.js';

let server: StartedServer;
let run: ReturnType<typeof bound>;
/** Each step spawns a Node process; a loaded machine needs time, not a retry. */
const SLOW = 240_000;
const dir = mkdtempSync(join(tmpdir(), 'strongroom-cli-kv-'));

beforeAll(async () => {
  server = await startServer();
  run = bound(server.url, server.rootToken);
});
afterAll(async () => {
  await server?.stop();
});

describe('strongroom kv', () => {
  it(
    'puts from literals, @file and stdin, and gets in table, json and yaml',
    async () => {
      const file = join(dir, 'pw.txt');
      writeFileSync(file, 'from-file\n');
      const put = json<{ version: number }>(
        await run(['kv', 'put', '-o', 'json', 'secret/app/db', 'user=app', `password=@${file}`]),
      );
      expect(put.version).toBe(1);
      const piped = json<{ version: number }>(
        await run(['kv', 'put', '-o', 'json', 'secret/app/db', 'user=app', 'password=-'], { input: 'from-stdin\n' }),
      );
      expect(piped.version).toBe(2);

      const asJson = json<{ data: Record<string, string>; metadata: { version: number } }>(
        await run(['kv', 'get', '-o', 'json', 'secret/app/db']),
      );
      expect(asJson).toMatchObject({ data: { user: 'app', password: 'from-stdin' }, metadata: { version: 2 } });
      const asYaml = YAML.parse(ok(await run(['kv', 'get', '-o', 'yaml', '--version', '1', 'secret/app/db'])).stdout);
      expect(asYaml).toMatchObject({ data: { user: 'app', password: 'from-file' }, metadata: { version: 1 } });
      const table = ok(await run(['kv', 'get', 'secret/app/db'])).stdout;
      expect(table).toMatch(/password\s*│\s*from-stdin/);
      expect(table).toContain('== Data ==');
      const field = ok(await run(['kv', 'get', '--field', 'password', 'secret/app/db'])).stdout;
      expect(field).toBe('from-stdin');
    },
    SLOW,
  );

  it(
    'refuses two stdin values before reading anything (exit 2)',
    async () => {
      const r = await run(['kv', 'put', 'secret/app/two', 'a=-', 'b=-'], { input: 'x' });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^Error: only one value can come from stdin/);
    },
    SLOW,
  );

  it(
    'reads a JSON object from stdin with a lone -',
    async () => {
      ok(await run(['kv', 'put', 'secret/app/json', '-'], { input: '{"n": 1, "s": "x"}' }));
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/app/json']))).toMatchObject({ data: { n: 1, s: 'x' } });
      // The same reader serves `strongroom write PATH -`: a usage error (exit 2) for text that is not one JSON object.
      const broken = await run(['kv', 'put', 'secret/app/json', '-'], { input: '{"n": ' });
      expect(broken.code).toBe(2);
      expect(broken.stderr).toMatch(/^Error: stdin is not valid JSON/);
      expect(broken.stderr).toContain(`echo '{"k":"v"}' | strongroom kv put PATH -`);
      for (const input of ['[1]', 'null', '"text"']) {
        const refused = await run(['write', 'secret/data/app/json', '-'], { input });
        expect(refused.code, input).toBe(2);
        expect(refused.stderr, input).toMatch(/^Error: stdin must hold a JSON object/);
      }
    },
    SLOW,
  );

  it(
    'patches, lists, shows history with the current version marked, rolls back and diffs',
    async () => {
      ok(await run(['kv', 'put', 'secret/hist/svc', 'a=1', 'b=2']));
      ok(await run(['kv', 'patch', 'secret/hist/svc', 'b=3', 'c=4']));
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/hist/svc']))).toMatchObject({
        data: { a: '1', b: '3', c: '4' },
      });

      expect(json(await run(['kv', 'list', '-o', 'json', 'secret/hist/']))).toEqual(['svc']);
      expect(ok(await run(['kv', 'list', 'secret/'])).stdout).toContain('hist/');

      const rolled = json<{ version: number }>(
        await run(['kv', 'rollback', '--version', '1', '-o', 'json', 'secret/hist/svc']),
      );
      expect(rolled.version).toBe(3);
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/hist/svc']))).toMatchObject({
        data: { a: '1', b: '2' },
      });

      const history = json<{ current_version: number; versions: Array<{ version: number; current: boolean }> }>(
        await run(['kv', 'history', '-o', 'json', 'secret/hist/svc']),
      );
      expect(history.current_version).toBe(3);
      expect(history.versions.map((v) => [v.version, v.current])).toEqual([
        [3, true],
        [2, false],
        [1, false],
      ]);
      const table = ok(await run(['kv', 'history', 'secret/hist/svc'])).stdout;
      expect(table).toMatch(/│ 3\s+│.*│ \*\s+│/);

      const diff = json(await run(['kv', 'diff', '-o', 'json', 'secret/hist/svc', '1', '2']));
      expect(diff).toEqual({ from: 1, to: 2, added: ['c'], removed: [], changed: ['b'] });
      const diffTable = ok(await run(['kv', 'diff', 'secret/hist/svc', '1', '2'])).stdout;
      expect(diffTable).toContain('+ c');
      expect(diffTable).toContain('~ b');
      // Keys only: neither new value (3, 4) appears without --show-values.
      expect(diffTable).not.toContain('3');
      expect(diffTable).not.toContain('4');
      const withValues = YAML.parse(
        ok(await run(['kv', 'diff', '--show-values', '-o', 'yaml', 'secret/hist/svc', '1', '2'])).stdout,
      );
      expect(withValues.values).toEqual({ b: { from: '2', to: '3' }, c: { to: '4' } });
    },
    SLOW,
  );

  it(
    'deletes, undeletes and destroys versions, and explains a deleted read',
    async () => {
      ok(await run(['kv', 'put', 'secret/life/x', 'k=v1']));
      ok(await run(['kv', 'put', 'secret/life/x', 'k=v2']));
      ok(await run(['kv', 'delete', 'secret/life/x']));
      const deleted = await run(['kv', 'get', 'secret/life/x']);
      expect(deleted.code).toBe(1);
      expect(deleted.stderr).toMatch(
        /^Error: version 2 of secret\/life\/x was deleted at .* — try 'strongroom kv undelete --versions=2 secret\/life\/x'\n$/,
      );
      ok(await run(['kv', 'undelete', '--versions', '2', 'secret/life/x']));
      expect(ok(await run(['kv', 'get', '--field', 'k', 'secret/life/x'])).stdout).toBe('v2');
      ok(await run(['kv', 'destroy', '--versions', '1', 'secret/life/x']));
      const history = json<{ versions: Array<{ version: number; destroyed: boolean }> }>(
        await run(['kv', 'history', '-o', 'json', 'secret/life/x']),
      );
      expect(history.versions.find((v) => v.version === 1)?.destroyed).toBe(true);
      ok(await run(['kv', 'delete', '--versions', '2', 'secret/life/x']));
      expect((await run(['kv', 'get', 'secret/life/x'])).code).toBe(1);
    },
    SLOW,
  );

  it(
    'reads and writes metadata, and deletes a secret entirely',
    async () => {
      ok(await run(['kv', 'put', 'secret/meta/x', 'k=v']));
      ok(
        await run([
          'kv',
          'metadata',
          'put',
          '--max-versions',
          '4',
          '--custom-metadata',
          'owner=payments',
          'secret/meta/x',
        ]),
      );
      const meta = json<Record<string, unknown>>(await run(['kv', 'metadata', 'get', '-o', 'json', 'secret/meta/x']));
      expect(meta).toMatchObject({ max_versions: 4, custom_metadata: { owner: 'payments' }, current_version: 1 });
      expect(ok(await run(['kv', 'metadata', 'get', 'secret/meta/x'])).stdout).toContain('max_versions');
      ok(await run(['kv', 'metadata', 'delete', 'secret/meta/x']));
      const gone = await run(['kv', 'get', 'secret/meta/x']);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^Error: no secret at secret\/meta\/x/);
    },
    SLOW,
  );

  it(
    'exits 2 on usage errors and 1 on server errors, one line each',
    async () => {
      const cases: Array<[string[], number, RegExp]> = [
        [['kv', 'get'], 2, /missing required argument 'path' — try 'strongroom kv get --help'/],
        [['kv', 'get', '--bogus', 'secret/x'], 2, /unknown option '--bogus'/],
        [['kv', 'put', 'secret/x', 'novalue'], 2, /argument 1 is not KEY=VALUE/],
        [['kv', 'get', '-o', 'xml', 'secret/x'], 2, /xml/],
        [['kv', 'get', 'nomount/x'], 2, /no secrets engine is mounted/],
        [['kv', 'get', 'transit/x'], 2, /not a key\/value mount/],
        [['kv', 'rollback', '--version', 'abc', 'secret/app/db'], 2, /--version must be a positive whole number/],
        [['kv', 'get', 'secret/does/not/exist'], 1, /no secret at/],
      ];
      for (const [args, code, pattern] of cases) {
        const r = await run(args);
        expect({ args, code: r.code }).toEqual({ args, code });
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^Error: /);
      }
      const denied = await run(['kv', 'get', 'secret/app/db'], { env: { STRONGROOM_TOKEN: 'srs.not-a-real-token' } });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/permission denied.* — try 'strongroom login'/);
    },
    SLOW,
  );

  it(
    'honours --cas',
    async () => {
      ok(await run(['kv', 'put', '--cas', '0', 'secret/cas/x', 'k=1']));
      const conflict = await run(['kv', 'put', '--cas', '0', 'secret/cas/x', 'k=2']);
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toMatch(/^Error: .*check-and-set/);
    },
    SLOW,
  );
});
