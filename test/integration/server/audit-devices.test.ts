import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;

/**
 * Enabling a file audit device through sys/audit (issue 14, item 3): every option is checked before anything on disk
 * is touched, a file the device did not create keeps its permissions, and file paths stay inside the directories the
 * server's configuration names (`audit_file_dirs`, default <data-dir>/audit).
 */
describe('file audit devices enabled through sys/audit (real server)', () => {
  let server: StartedServer;
  let auditDir: string;
  const enable = (path: string, options: Record<string, unknown>) =>
    api(server.url, 'PUT', `sys/audit/${path}`, { token: server.rootToken, body: { type: 'file', options } });

  beforeAll(async () => {
    server = await startServer();
    auditDir = join(server.dataDir, 'audit');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('leaves the unseal key file (0600) untouched when asked to make it 0644', async () => {
    const keyFile = join(server.dataDir, 'dev-unseal.key');
    expect(modeOf(keyFile)).toBe(0o600);
    const before = readFileSync(keyFile);
    const refused = await enable('steal', { file_path: keyFile, mode: '0644' });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatch(/audit_file_dirs|outside/);
    expect(modeOf(keyFile)).toBe(0o600);
    expect(readFileSync(keyFile).equals(before)).toBe(true);
  });

  it('never changes the mode of a file it did not create, even inside an audit directory', async () => {
    mkdirSync(auditDir, { recursive: true, mode: 0o700 });
    const foreign = join(auditDir, 'not-an-audit-log.txt');
    writeFileSync(foreign, 'someone else\n', { mode: 0o600 });
    chmodSync(foreign, 0o600);
    const refused = await enable('foreign', { file_path: foreign, mode: '0644' });
    expect(refused.status).toBe(400);
    expect(modeOf(foreign)).toBe(0o600);
    expect(readFileSync(foreign, 'utf8')).toBe('someone else\n');
  });

  it('refuses bad options with a clear 400 before creating anything', async () => {
    const target = join(auditDir, 'never-created.log');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ file_path: target, mode: '0755' }, /mode/],
      [{ file_path: target, mode: 'rw' }, /mode/],
      [{ file_path: target, format: 'jsonx' }, /format/],
      [{ file_path: target, log_raw: 'true' }, /log_raw/],
      [{ file_path: target, hmac_accessor: 'false' }, /hmac_accessor/],
      [{ file_path: target, prefix: 'vault: ' }, /prefix/],
      [{ file_path: target, elide_list_responses: 'maybe' }, /elide_list_responses/],
      [{ file_path: target, colour: 'blue' }, /colour/],
      [{ file_path: join(auditDir, '..', 'escape.log') }, /audit_file_dirs|outside/],
      [{ file_path: 'relative.log' }, /absolute/],
    ];
    for (const [options, message] of cases) {
      const res = await enable('bad', options);
      expect(res.status, JSON.stringify(options)).toBe(400);
      expect(res.body.errors[0], JSON.stringify(options)).toMatch(message);
    }
    expect(() => statSync(target)).toThrow();
    expect(() => statSync(join(server.dataDir, 'escape.log'))).toThrow();
  });

  it("accepts Vault's options: a new file in the audit directory gets the requested mode; stdout and discard work", async () => {
    const file = join(auditDir, 'vault-style.log');
    const enabled = await enable('vault-style', {
      file_path: file,
      mode: '0640',
      format: 'json',
      log_raw: 'false',
      hmac_accessor: 'true',
      prefix: '',
      elide_list_responses: 'false',
    });
    expect(enabled.status).toBe(204);
    expect(modeOf(file)).toBe(0o640);
    expect((await enable('out', { file_path: 'stdout' })).status).toBe(204);
    expect((await enable('nowhere', { file_path: 'discard' })).status).toBe(204);
    expect((await api(server.url, 'GET', 'sys/mounts', { token: server.rootToken })).status).toBe(200);
    expect(readFileSync(file, 'utf8')).toContain('"path":"sys/mounts"');
    expect(server.stdout()).toMatch(/"path":"sys\/mounts"/);
    for (const path of ['vault-style', 'out', 'nowhere']) {
      expect((await api(server.url, 'DELETE', `sys/audit/${path}`, { token: server.rootToken })).status).toBe(204);
    }
  });
});
