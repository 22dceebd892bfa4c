import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { bound, cli, json, ok, type CliResult } from './run.js';

/**
 * The CLI for hands used to `vault` (issue 21, items 3 and 4), against real server processes (run `npm run build`
 * first): Vault's single-dash flags and -format=json envelopes, every error line for its cause (no token, a server
 * that does not answer, TLS on one side only, a typo), and an import that forgives.
 */
let server: StartedServer;
let tlsServer: StartedServer;
let silent: Server;
let silentUrl: string;
const silentSockets: Socket[] = [];
let run: ReturnType<typeof bound>;
const SLOW = 240_000;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), 'strongroom-cli-habits-'));

function certificate(): string[] {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1']
      .concat(['-subj', '/CN=strongroom-test', '-addext', 'subjectAltName=IP:127.0.0.1'])
      .concat(['-keyout', key, '-out', cert]),
    { stdio: 'ignore' },
  );
  return [`--tls-cert-file=${cert}`, `--tls-key-file=${key}`];
}

/** One line on stderr, the exit code, and nothing on stdout. */
function failed(r: CliResult, code: number, line: RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(line);
  expect(r.code).toBe(code);
}

beforeAll(async () => {
  [server, tlsServer] = await Promise.all([startServer(), startServer({ args: certificate() })]);
  run = bound(server.url, server.rootToken);
  // A server that accepts connections and never answers: what a hung proxy or a stopped process looks like.
  silent = createServer((socket) => silentSockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  silentUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, SLOW);

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  silent?.close();
  await Promise.all([server?.stop(), tlsServer?.stop()]);
});

describe("Vault's flags and output shapes", () => {
  it(
    'takes -mount, -field, -format and -address with one dash, and -format=json prints the API envelope',
    async () => {
      ok(await run(['kv', 'put', '-mount=secret', 'habits/db', 'user=app', 'password=s3cret']));
      expect(ok(await run(['kv', 'get', '-mount=secret', '-field=password', 'habits/db'])).stdout).toBe('s3cret');
      const envelope = json<Json>(await run(['kv', 'get', '-format=json', 'secret/habits/db']));
      // `vault kv get -format=json`: the whole answer, so `jq .data.data.password` works.
      expect(Object.keys(envelope)).toEqual(
        expect.arrayContaining(['request_id', 'lease_id', 'lease_duration', 'renewable', 'data', 'warnings']),
      );
      expect(envelope.data.data).toEqual({ user: 'app', password: 's3cret' });
      expect(envelope.data.metadata.version).toBe(1);
      expect(json(await run(['kv', 'get', '-o', 'vault-json', 'secret/habits/db']))).toMatchObject({
        data: { data: { password: 's3cret' } },
      });
      // This CLI's own -o json is unchanged: data and metadata at the top.
      expect(json(await run(['kv', 'get', '-o', 'json', 'secret/habits/db']))).toMatchObject({
        data: { password: 's3cret' },
        metadata: { version: 1 },
      });
      expect(json(await run(['kv', 'list', '-format=json', 'secret/habits/']))).toEqual(['db']);
      const lookup = json<Json>(await run(['token', 'lookup', '-format=json']));
      expect(lookup.data.policies).toEqual(['root']);
      expect(lookup.data).not.toHaveProperty('id'); // the token itself: never printed
      expect(JSON.stringify(lookup)).not.toContain(server.rootToken);
      const status = json<Record<string, unknown>>(
        await cli(['status', '-format=json', `-address=${server.url}`], { env: {} }),
      );
      expect(status).toMatchObject({ initialized: true, sealed: false });
    },
    SLOW,
  );

  it(
    'has -o on export (env, json, yaml) as on every command that prints data',
    async () => {
      ok(await run(['kv', 'put', 'secret/habits/export/a', 'K=v1']));
      expect(ok(await run(['export', 'secret/habits/export/', '-o', 'env'])).stdout).toBe(
        '# secret/habits/export/a\nK=v1\n',
      );
      expect(YAML.parse(ok(await run(['export', 'secret/habits/export/', '-o', 'yaml'])).stdout)).toEqual({
        'secret/habits/export/a': { K: 'v1' },
      });
      expect(json(await run(['export', 'secret/habits/export/a', '-o', 'json']))).toEqual({
        'secret/habits/export/a': { K: 'v1' },
      });
      failed(await run(['export', 'secret/habits/export/', '-o', 'xml']), 2, /xml/);
    },
    SLOW,
  );
});

describe('error lines, each for its cause', () => {
  it(
    'says "not logged in" when no token is set, not a 403 from the mount lookup',
    async () => {
      for (const args of [
        ['kv', 'get', 'secret/habits/db'],
        ['kv', 'list', 'secret/'],
        ['read', 'sys/mounts'],
      ]) {
        const r = await cli(args, { env: { STRONGROOM_ADDR: server.url } });
        failed(r, 1, /^Error: not logged in: no token is set — try 'strongroom login', or set STRONGROOM_TOKEN/);
        expect(r.stderr).not.toMatch(/403|permission denied/i);
      }
      // A token that is set but not allowed is another cause, and gets the other line.
      const wrong = await cli(['kv', 'get', 'secret/habits/db'], {
        env: { STRONGROOM_ADDR: server.url, STRONGROOM_TOKEN: 'srs.not-a-token' },
      });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).not.toMatch(/not logged in/);
    },
    SLOW,
  );

  it(
    'gives up on a server that does not answer after STRONGROOM_CLIENT_TIMEOUT or VAULT_CLIENT_TIMEOUT',
    async () => {
      for (const name of ['STRONGROOM_CLIENT_TIMEOUT', 'VAULT_CLIENT_TIMEOUT']) {
        const r = await cli(['status'], { env: { STRONGROOM_ADDR: silentUrl, [name]: '1s' } });
        failed(r, 1, new RegExp(`no answer within 1 s — try .*${name}=2m`));
      }
      failed(
        await cli(['status'], { env: { STRONGROOM_ADDR: silentUrl, VAULT_CLIENT_TIMEOUT: 'soon' } }),
        2,
        /VAULT_CLIENT_TIMEOUT is not a duration/,
      );
    },
    SLOW,
  );

  it(
    'says the server is not speaking TLS when https:// meets plain HTTP, and the reverse',
    async () => {
      const httpsToPlain = server.url.replace('http://', 'https://');
      failed(
        await cli(['status'], { env: { STRONGROOM_ADDR: httpsToPlain } }),
        1,
        new RegExp(`the server at ${httpsToPlain} is not speaking TLS .* — try --address=${server.url} `),
      );
      const plainToTls = tlsServer.url.replace('https://', 'http://');
      failed(
        await cli(['status'], { env: { STRONGROOM_ADDR: plainToTls } }),
        1,
        new RegExp(`the server may be speaking TLS — try --address=${tlsServer.url} `),
      );
    },
    SLOW,
  );

  it(
    'suggests the nearest command or flag, on one line',
    async () => {
      failed(await cli(['sttaus']), 2, /unknown command 'sttaus' \(Did you mean status\?\) — try 'strongroom --help'/);
      failed(await run(['kv', 'gte', 'secret/x']), 2, /unknown command 'gte' \(Did you mean get\?\)/);
      failed(await run(['kv', 'get', '--feild', 'x', 'secret/x']), 2, /\(Did you mean --field\?\)/);
      // The value after = is left out of the line (it may be a token), and the name alone is compared.
      const typo = await run(['kv', 'get', '--tokne=srs.do-not-echo', 'secret/x']);
      failed(typo, 2, /unknown option '--tokne' \(Did you mean --token\?\)/);
      expect(typo.stderr).not.toContain('do-not-echo');
      failed(await run(['read', '-feild=x', 'secret/data/x']), 2, /unknown option --feild — try --field/);
      failed(await run(['login', '-mehtod=approle']), 2, /unknown option --mehtod — try --method/);
      failed(await run(['token', 'lookup', '-acessor', 'x']), 2, /unknown option --acessor — try --accessor/);
      failed(await run(['lease', 'renew', '-incremnt=2h', 'x/y']), 2, /unknown option --incremnt — try --increment/);
    },
    SLOW,
  );
});

describe('import that forgives', () => {
  it(
    'puts app.env under secret/ without --prefix, skips non-Secret documents by name, keeps namespaces apart',
    async () => {
      const envFile = join(dir, 'habitsapp.env');
      writeFileSync(envFile, 'A=1\nB=2\n');
      const plan = json<{ secrets: Array<{ path: string; status: string }> }>(
        await run(['import', '-o', 'json', envFile]),
      );
      expect(plan.secrets.map((s) => [s.path, s.status])).toEqual([['secret/habitsapp', 'new']]);
      expect(ok(await run(['kv', 'get', '-field=B', 'secret/habitsapp'])).stdout).toBe('2');

      const bundle = join(dir, 'bundle.yaml');
      writeFileSync(
        bundle,
        [
          'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}',
          'apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: one}\nstringData: {k: "1"}',
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {x: y}',
          'apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: two}\nstringData: {k: "2"}',
        ].join('\n---\n'),
      );
      const r = await run(['import', '--prefix=secret/k8s-habits/', '-o', 'json', bundle]);
      expect(r.code).toBe(0);
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        `Warning: skipped ${bundle} document 1 (Deployment web): not a Secret`,
        `Warning: skipped ${bundle} document 3 (ConfigMap cfg): not a Secret`,
      ]);
      expect(JSON.parse(r.stdout).secrets.map((s: { path: string }) => s.path)).toEqual([
        'secret/k8s-habits/one/a',
        'secret/k8s-habits/two/a',
      ]);
      expect(ok(await run(['kv', 'get', '-field=k', 'secret/k8s-habits/one/a'])).stdout).toBe('1');
      expect(ok(await run(['kv', 'get', '-field=k', 'secret/k8s-habits/two/a'])).stdout).toBe('2');

      // With no KV mount at secret/, the default location does not exist: the line asks for --prefix.
      ok(await run(['delete', 'sys/mounts/secret']));
      failed(await run(['import', envFile]), 2, /no KV mount at secret\/ to put it under — try --prefix=/);
    },
    SLOW,
  );
});
