import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../../src/audit/verify.js';
import { eventually } from '../../support/eventually.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { cli } from '../cli/run.js';
import { api } from './client.js';

const SLOW = 120_000;
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const writeLines = (file: string, kept: string[]) => writeFileSync(file, kept.map((l) => `${l}\n`).join(''));

/**
 * Issue 14, item 5: the chain of a file device is anchored outside the file (the last seq and hash, and where the
 * file starts, in the database), so cutting lines off either end while the server is down is detected: the server
 * refuses to continue the file and says so, and `audit verify --from-database` names what is missing.
 */
describe('audit chain anchors (real server, SQLite)', () => {
  const servers: StartedServer[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'strongroom-anchors-'));
  const auditFile = join(dataDir, 'audit', 'server.log');
  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.stop({ keepDataDir: true })));
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = async () => {
    const server = await startServer({
      dataDir,
      rootToken: 'srs.anchor-test-root',
      args: [`--audit-file=${auditFile}`],
    });
    servers.push(server);
    return server;
  };
  const verifyWithAnchors = (file: string) =>
    cli(['audit', 'verify', '--from-database', `--data-dir=${dataDir}`, '-o', 'json', file]);

  it(
    'detects a cut head and a cut tail; refuses to continue a truncated file until it is moved aside',
    async () => {
      const first = await start();
      for (let i = 0; i < 5; i++) {
        const res = await api(first.url, 'POST', `secret/data/anchored/${i}`, {
          token: first.rootToken,
          body: { data: { v: String(i) } },
        });
        expect(res.status).toBe(200);
      }
      await first.stop({ keepDataDir: true });
      const intact = lines(auditFile);
      expect(intact.length).toBeGreaterThanOrEqual(10);
      const intactCopy = join(dataDir, 'intact.log');
      copyFileSync(auditFile, intactCopy);

      // The intact file verifies against its anchors.
      const good = await verifyWithAnchors(auditFile);
      expect(good.code, good.stderr).toBe(0);
      expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, entries: intact.length });

      // The first lines removed: each line still verifies on its own, but the anchors say where the file starts.
      writeLines(auditFile, intact.slice(3));
      expect((await verifyAuditFile(auditFile)).ok).toBe(true); // what plain verify could not see
      const headless = await verifyWithAnchors(auditFile);
      expect(headless.code).toBe(1);
      expect(JSON.parse(headless.stdout)).toMatchObject({ ok: false });
      expect(JSON.parse(headless.stdout).reason).toMatch(/missing head entries/);

      // The last lines removed while the server is down.
      writeLines(auditFile, intact.slice(0, -3));
      const tailless = await verifyWithAnchors(auditFile);
      expect(tailless.code).toBe(1);
      expect(JSON.parse(tailless.stdout).reason).toMatch(/missing tail entries/);

      // The server refuses to continue that file (fails closed and says so) instead of extending the cut chain.
      const second = await start();
      await eventually(
        () => /ends before its anchor/.test(second.stdout() + second.stderr()),
        'the refusal in the log',
      );
      const refused = await api(second.url, 'GET', 'secret/data/anchored/0', { token: second.rootToken });
      expect(refused.status).toBe(503);
      expect((await api(second.url, 'GET', 'sys/health')).status).toBe(503);
      expect(lines(auditFile)).toEqual(intact.slice(0, -3)); // nothing appended to the cut file

      // The operator moves the damaged file aside: the server picks up by itself with a new file that continues
      // the chain from the anchor (as after a rotation), no restart needed.
      renameSync(auditFile, join(dataDir, 'audit', 'server.log.damaged'));
      await eventually(async () => (await api(second.url, 'GET', 'sys/health')).status === 200, 'recovery', 30_000);
      expect((await api(second.url, 'GET', 'secret/data/anchored/0', { token: second.rootToken })).status).toBe(200);
      const metrics = await fetch(`${second.url}/v1/sys/metrics?format=prometheus`, {
        headers: { 'x-vault-token': second.rootToken },
      });
      expect(await metrics.text()).toMatch(/strongroom_audit_integrity_failures_total\{device="audit-file\/"\} [1-9]/);
      const continued = await verifyAuditFile(auditFile, { expectPrevHash: JSON.parse(intact.at(-1)!).hash });
      expect(continued).toMatchObject({ ok: true });
      expect(continued.firstSeq).toBe(JSON.parse(intact.at(-1)!).seq + 1);
      await second.stop({ keepDataDir: true });
    },
    SLOW,
  );
});

/**
 * Issue 14, item 11: when the first audit open after unseal fails, the server keeps retrying (with backoff), reports
 * itself unhealthy meanwhile, keeps sys/seal and sys/unseal working, and recovers by itself once the cause is gone.
 */
describe('audit open failure after unseal (real server, Shamir)', () => {
  let server: StartedServer;
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-audit-retry-'));
  const blocker = join(dir, 'blocker');
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'retries until the audit file can be opened; unhealthy meanwhile; seal and unseal still work',
    async () => {
      writeFileSync(blocker, 'a file where the audit directory should be\n');
      server = await startServer({ dev: false, args: [`--audit-file=${join(blocker, 'audit.log')}`] });
      const init = await api(server.url, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } });
      expect(init.status).toBe(200);
      const key = init.body.keys_base64[0] as string;
      const root = init.body.root_token as string;
      expect(root).toBeTruthy();
      const unseal = async () => {
        const res = await api(server.url, 'PUT', 'sys/unseal', { body: { key } });
        expect(res.status).toBe(200);
        expect(res.body.sealed).toBe(false);
      };
      if ((await api(server.url, 'GET', 'sys/seal-status')).body.sealed) await unseal();

      const health = await api(server.url, 'GET', 'sys/health');
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ initialized: true, sealed: false });
      const refused = await api(server.url, 'GET', 'sys/mounts', { token: root });
      expect(refused.status).toBe(503);
      expect(refused.body.errors[0]).toMatch(/audit/);

      // Sealing and unsealing keep working while the audit log is down.
      expect((await api(server.url, 'PUT', 'sys/seal', { token: root })).status).toBe(204);
      expect((await api(server.url, 'GET', 'sys/seal-status')).body.sealed).toBe(true);
      await unseal();
      expect((await api(server.url, 'GET', 'sys/health')).status).toBe(503);

      // The cause goes away: the retry opens the device without a restart.
      rmSync(blocker);
      mkdirSync(blocker);
      await eventually(
        async () => (await api(server.url, 'GET', 'sys/health')).status === 200,
        'the audit log to open',
        40_000,
      );
      expect((await api(server.url, 'GET', 'sys/mounts', { token: root })).status).toBe(200);
      expect(lines(join(blocker, 'audit.log')).join('\n')).toContain('"path":"sys/mounts"');
      expect(server.stdout() + server.stderr()).toMatch(/audit log could not be opened.*retry/i);
    },
    SLOW,
  );
});
