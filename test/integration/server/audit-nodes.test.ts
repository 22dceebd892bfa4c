import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../../src/audit/verify.js';
import { eventually } from '../../support/eventually.js';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

const SLOW = 120_000;
const pathsIn = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { request: { path: string } }).request.path);

/**
 * Issue 14, item 10: several server processes on one PostgreSQL database. `--audit-file` belongs to the process that
 * was given it (each writes its own file and chain); a file device enabled through sys/audit is written by every
 * process to its own file when its path names the node (`{node}`), and a path two processes cannot share is refused
 * with an error that says how to configure it.
 */
describe.skipIf(postgresSkipReason !== undefined)(
  'file audit devices with two server processes on one PostgreSQL database',
  () => {
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    let a: StartedServer;
    let b: StartedServer;
    let root: string;
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-audit-nodes-'));
    const shared = join(dir, 'shared');
    const fileA = join(dir, 'a', 'audit.log');
    const fileB = join(dir, 'b', 'audit.log');

    beforeAll(async () => {
      db = await createTestDatabase();
      const common = [`--database-url=${db.url}`, `--audit-file-dirs=${shared}`];
      a = await startServer({ dev: false, args: [...common, `--audit-file=${fileA}`, '--node-name=node-a'] });
      const init = await api(a.url, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } });
      expect(init.status).toBe(200);
      root = init.body.root_token as string;
      const key = init.body.keys_base64[0] as string;
      if ((await api(a.url, 'GET', 'sys/seal-status')).body.sealed)
        await api(a.url, 'PUT', 'sys/unseal', { body: { key } });
      b = await startServer({ dev: false, args: [...common, `--audit-file=${fileB}`, '--node-name=node-b'] });
      expect((await api(b.url, 'PUT', 'sys/unseal', { body: { key } })).body.sealed).toBe(false);
    }, SLOW);
    afterAll(async () => {
      await Promise.allSettled([a?.stop(), b?.stop()]);
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it(
      'each process writes its own --audit-file, in its own chain',
      async () => {
        expect(
          (
            await api(a.url, 'PUT', 'sys/policies/acl/on-a', {
              token: root,
              body: { policy: 'path "a/*" { capabilities = ["read"] }' },
            })
          ).status,
        ).toBe(204);
        expect(
          (
            await api(b.url, 'PUT', 'sys/policies/acl/on-b', {
              token: root,
              body: { policy: 'path "b/*" { capabilities = ["read"] }' },
            })
          ).status,
        ).toBe(204);
        expect((await api(b.url, 'GET', 'sys/mounts', { token: root })).status).toBe(200);
        expect(pathsIn(fileA)).toContain('sys/policies/acl/on-a');
        expect(pathsIn(fileA)).not.toContain('sys/policies/acl/on-b');
        expect(pathsIn(fileB)).toContain('sys/policies/acl/on-b');
        expect(pathsIn(fileB)).not.toContain('sys/policies/acl/on-a');
        expect(await verifyAuditFile(fileA, { requireGenesis: true })).toMatchObject({ ok: true });
        expect(await verifyAuditFile(fileB, { requireGenesis: true })).toMatchObject({ ok: true });
        // Each process lists its own command-line device, marked local; neither can be disabled through the API.
        const listedOnB = await api(b.url, 'GET', 'sys/audit', { token: root });
        expect(listedOnB.body.data['audit-file/']).toMatchObject({
          type: 'file',
          local: true,
          options: { file_path: fileB },
        });
        expect((await api(a.url, 'DELETE', 'sys/audit/audit-file', { token: root })).status).toBe(400);
      },
      SLOW,
    );

    it(
      'a device enabled through sys/audit with {node} in its path is written by each process to its own file',
      async () => {
        const enabled = await api(a.url, 'PUT', 'sys/audit/per-node', {
          token: root,
          body: { type: 'file', options: { file_path: join(shared, 'audit-{node}.log') } },
        });
        expect(enabled.status).toBe(204);
        const perA = join(shared, 'audit-node-a.log');
        const perB = join(shared, 'audit-node-b.log');
        await eventually(async () => {
          const path = `sys/policies/acl/probe-${Date.now()}`;
          await api(b.url, 'PUT', path, { token: root, body: { policy: 'path "x" { capabilities = ["read"] }' } });
          try {
            return pathsIn(perB).includes(path);
          } catch {
            return false;
          }
        }, 'B to write its own per-node file');
        await api(a.url, 'GET', 'sys/mounts', { token: root });
        expect(pathsIn(perA)).toContain('sys/mounts');
        expect((await verifyAuditFile(perA)).ok).toBe(true);
        expect((await verifyAuditFile(perB)).ok).toBe(true);
        expect((await api(a.url, 'DELETE', 'sys/audit/per-node', { token: root })).status).toBe(204);
      },
      SLOW,
    );

    it(
      'a path two processes would share is refused with an error that says how to configure it',
      async () => {
        const same = join(shared, 'one-file-for-all.log');
        // A can take the file (nobody holds it yet); B cannot also write it and says why, answering 503 (fail closed).
        expect(
          (
            await api(a.url, 'PUT', 'sys/audit/same', {
              token: root,
              body: { type: 'file', options: { file_path: same } },
            })
          ).status,
        ).toBe(204);
        const refused = await eventually(async () => {
          const res = await api(b.url, 'GET', 'sys/mounts', { token: root });
          // (While B reopens its devices it answers 503 "being reopened"; then the refusal itself.)
          return res.status === 503 && /\{node\}/.test(String(res.body.errors[0])) ? res : undefined;
        }, 'B to refuse the shared path, saying how to configure it');
        expect(refused.body.errors[0]).toMatch(/is already being written by .*file_path=.*audit-\{node\}\.log/);
        expect((await api(b.url, 'GET', 'sys/health')).status).toBe(503);
        expect((await api(a.url, 'DELETE', 'sys/audit/same', { token: root })).status).toBe(204);
        await eventually(
          async () => (await api(b.url, 'GET', 'sys/mounts', { token: root })).status === 200,
          'B to recover',
        );
      },
      SLOW,
    );
  },
);
