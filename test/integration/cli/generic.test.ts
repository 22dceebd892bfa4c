import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { bound, json, ok } from './run.js';

/**
 * `strongroom read | write | list | delete`, `strongroom password generate` and `kv put --generate` against a real
 * server process (run `npm run build` first): Vault's output shapes, flags in Vault's and this CLI's spellings,
 * one-line errors.
 */
let server: StartedServer;
let run: ReturnType<typeof bound>;
const SLOW = 240_000;
const dir = mkdtempSync(join(tmpdir(), 'strongroom-cli-generic-'));
const DEFAULT_SHAPE = /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*-)[A-Za-z0-9-]{20}$/;

beforeAll(async () => {
  server = await startServer();
  run = bound(server.url, server.rootToken);
});
afterAll(async () => {
  await server?.stop();
});

describe('strongroom read/write/list/delete and password policies', () => {
  it(
    'writes a password policy from @file, reads it back in table, json and yaml, and generates from it',
    async () => {
      const file = join(dir, 'web.hcl');
      writeFileSync(file, 'length = 12\nrule "charset" {\n  charset = "abc"\n  min-chars = 2\n}\n');
      expect(ok(await run(['write', 'sys/policies/password/web', `policy=@${file}`])).stdout).toBe(
        'Success! Data written to: sys/policies/password/web\n',
      );
      const table = ok(await run(['read', 'sys/policies/password/web'])).stdout;
      expect(table.split('\n').slice(0, 2)).toEqual(['Key       Value', '---       -----']);
      expect(table).toMatch(/^policy {4}length = 12$/m);

      const envelope = json<Record<string, unknown>>(await run(['read', '-format=json', 'sys/policies/password/web']));
      expect(envelope).toMatchObject({ lease_id: '', lease_duration: 0, renewable: false, warnings: null });
      expect((envelope.data as { policy: string }).policy).toContain('min-chars = 2');
      const yaml = YAML.parse(ok(await run(['read', '-o', 'yaml', 'sys/policies/password/web/generate'])).stdout);
      expect(yaml.data.password).toMatch(/^[abc]{12}$/);

      // -field in Vault's spellings, before or after the path, prints the bare value.
      expect(ok(await run(['read', '-field=password', 'sys/policies/password/web/generate'])).stdout).toMatch(
        /^[abc]{12}$/,
      );
      expect(ok(await run(['read', '-field', 'password', 'sys/policies/password/web/generate'])).stdout).toMatch(
        /^[abc]{12}$/,
      );
      expect(ok(await run(['read', 'sys/policies/password/web/generate', '--field', 'password'])).stdout).toMatch(
        /^[abc]{12}$/,
      );

      expect(ok(await run(['list', 'sys/policies/password'])).stdout).toBe('Keys\n----\nweb\n');
      expect(json(await run(['list', '-format=json', 'sys/policies/password']))).toEqual(['web']);
      expect(ok(await run(['password', 'generate', '--policy=web'])).stdout).toMatch(/^[abc]{12}$/);
      expect(json(await run(['password', 'generate', '-o', 'json']))).toEqual({
        password: expect.stringMatching(DEFAULT_SHAPE),
      });

      expect(ok(await run(['delete', 'sys/policies/password/web'])).stdout).toBe(
        'Success! Data deleted (if it existed) at: sys/policies/password/web\n',
      );
      const gone = await run(['read', 'sys/policies/password/web']);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toBe('Error: No value found at sys/policies/password/web\n');
    },
    SLOW,
  );

  it(
    "refuses a bad policy with the server's message on one line and a non-zero exit",
    async () => {
      const r = await run(['write', 'sys/policies/password/bad', 'policy=length = 2']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^Error: passwords must be between 4 and 100 characters \(400 on POST/);
      const syntax = await run(['write', 'sys/policies/password/bad', 'policy=length = 20\nrule "charset" {']);
      expect(syntax.code).toBe(1);
      expect(syntax.stderr).toMatch(/^Error: invalid password policy: line 2, column \d+: /);
    },
    SLOW,
  );

  it(
    'fills kv values with generated passwords (--generate KEY[=POLICY]) without printing them',
    async () => {
      ok(
        await run([
          'write',
          'sys/policies/password/pin',
          'policy=length = 6\nrule "charset" { charset = "0123456789" }',
        ]),
      );
      const put = ok(await run(['kv', 'put', 'secret/gen/app', 'username=app', '--generate=password']));
      const patched = ok(await run(['kv', 'patch', 'secret/gen/app', '--generate', 'pin=pin']));
      const secret = json<{ data: Record<string, string> }>(await run(['kv', 'get', '-o', 'json', 'secret/gen/app']));
      expect(secret.data.username).toBe('app');
      expect(secret.data.password).toMatch(DEFAULT_SHAPE);
      expect(secret.data.pin).toMatch(/^\d{6}$/);
      expect(put.stdout).not.toContain(secret.data.password);
      expect(patched.stdout).not.toContain(secret.data.pin);

      const clash = await run(['kv', 'put', 'secret/gen/app', 'password=x', '--generate=password']);
      expect(clash.code).toBe(2);
      expect(clash.stderr).toMatch(/^Error: "password" is given both as a value and with --generate/);
      const missing = await run(['kv', 'put', 'secret/gen/other', '--generate=password=nope']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^Error: policy does not exist/);
      ok(await run(['delete', 'sys/policies/password/pin']));
    },
    SLOW,
  );

  it(
    'reads with query parameters, writes a JSON object from stdin, and shows any path in Vault’s table',
    async () => {
      ok(await run(['kv', 'put', 'secret/q/app', 'v=one']));
      ok(await run(['kv', 'put', 'secret/q/app', 'v=two']));
      const v1 = json<{ data: { data: { v: string } } }>(
        await run(['read', '-format=json', 'secret/data/q/app', 'version=1']),
      );
      expect(v1.data.data.v).toBe('one');
      ok(await run(['write', 'secret/data/q/json', '-'], { input: '{"data": {"n": 1, "s": "x"}}' }));
      const table = ok(await run(['read', 'secret/data/q/json'])).stdout;
      expect(table).toMatch(/^data {8}map\[n:1 s:x\]$/m);
      expect(table).toMatch(/^metadata {4}map\[/m);
      const listed = ok(await run(['list', 'secret/metadata/q'])).stdout;
      expect(listed).toBe('Keys\n----\napp\njson\n');
      const field = await run(['read', '-field=nope', 'secret/data/q/app']);
      expect(field.code).toBe(1);
      expect(field.stderr).toBe('Error: Field "nope" not present in secret\n');
    },
    SLOW,
  );

  it(
    'answers an empty listing and a forbidden path with one line and exit 1',
    async () => {
      const empty = await run(['list', 'sys/policies/password']);
      expect(empty.code).toBe(1);
      expect(empty.stderr).toBe('Error: No value found at sys/policies/password\n');
      const token = json<{ auth: { client_token: string } }>(
        await run(['write', '-format=json', 'auth/token/create', 'policies=default']),
      ).auth.client_token;
      const denied = await run(['read', 'sys/policies/password/default/generate'], {
        env: { STRONGROOM_TOKEN: token },
      });
      expect(denied.code).toBe(1);
      // Vault's connection flags work after a Vault-style flag too (commander leaves them to the command there).
      const viaFlag = await run(['read', '-format=json', `-token=${token}`, 'sys/policies/password/default/generate']);
      expect(viaFlag.code).toBe(1);
      expect(viaFlag.stderr).toMatch(/^Error: permission denied/);
      expect(denied.stderr.trim().split('\n')).toHaveLength(1);
      expect(denied.stderr).toMatch(/^Error: permission denied/);
    },
    SLOW,
  );
});
