import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * What the console's audit explorer asks of the server (issue 19, item 5): sys/audit/query's filters (identity,
 * outcome, client address, entry type) and paging, and sys/audit/verify, the chain of every device.
 */
describe('audit explorer API: sys/audit/query filters and paging, sys/audit/verify (real server)', () => {
  let server: StartedServer;
  let auditFile: string;
  let readerToken: string;
  let readerAccessor: string;
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, ...(body !== undefined ? { body } : {}) });
  const query = async (params: Record<string, string>) => {
    const res = await root('GET', `sys/audit/query?${new URLSearchParams(params)}`);
    expect(res.status, res.text).toBe(200);
    return res.body.data as { entries: Array<Record<string, any>>; next_cursor?: string }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    server = await startServer();
    auditFile = join(server.dataDir, 'audit', 'explorer.log');
    expect((await root('PUT', 'sys/audit/db', { type: 'database' })).status).toBe(204);
    expect((await root('PUT', 'sys/audit/file', { type: 'file', options: { file_path: auditFile } })).status).toBe(204);
    await root('PUT', 'sys/policies/acl/app-reader', {
      policy: 'path "secret/data/app/*" { capabilities = ["read"] }',
    });
    const created = await root('POST', 'auth/token/create', { policies: ['app-reader'], display_name: 'ci-reader' });
    readerToken = created.body.auth.client_token;
    readerAccessor = created.body.auth.accessor;
    expect((await root('POST', 'secret/data/app/db', { data: { password: 'first' } })).status).toBe(200);
    expect((await root('POST', 'secret/data/app/db', { data: { password: 'second' } })).status).toBe(200);
    expect((await api(server.url, 'GET', 'secret/data/app/db', { token: readerToken })).status).toBe(200);
    // Refused: the reader has no rights on another path.
    expect((await api(server.url, 'GET', 'secret/data/ops/root', { token: readerToken })).status).toBe(403);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('who read this path, when, from where: one response entry per read, by identity', async () => {
    const { entries } = await query({ path: 'secret/data/app/db', operation: 'read', type: 'response' });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      type: 'response',
      request: { path: 'secret/data/app/db', operation: 'read', remote_address: '127.0.0.1' },
      auth: { display_name: 'token-ci-reader' },
      response: { status: 200, data: { metadata: { version: 2 } } },
    });
    expect(Date.parse(entries[0]!.time)).not.toBeNaN();
    // The value read is HMAC'd, never in clear.
    expect(JSON.stringify(entries)).not.toContain('second');
    // Found the same way by display name, by accessor, and not by someone else's name.
    for (const identity of ['token-ci-reader', readerAccessor]) {
      const byIdentity = await query({ identity, path: 'secret/data/app/db', type: 'response' });
      expect(byIdentity.entries.map((e) => e.request.id)).toEqual([entries[0]!.request.id]);
    }
    expect((await query({ identity: 'root', path: 'secret/data/app/db', operation: 'read' })).entries).toEqual([]);
    expect((await query({ remote_address: '127.0.0.1', path: 'secret/data/app/db' })).entries.length).toBe(6);
    expect((await query({ remote_address: '192.0.2.1' })).entries).toEqual([]);
  });

  it('outcome: refused requests are errors; successful responses are successes', async () => {
    const errors = await query({ outcome: 'error', path: 'secret/data/ops/root' });
    expect(errors.entries).toHaveLength(1);
    expect(errors.entries[0]).toMatchObject({ type: 'request', error: 'permission denied' });
    const successes = await query({ outcome: 'success', path: 'secret/data/app/db' });
    expect(successes.entries.map((e) => e.type)).toEqual(['response', 'response', 'response']);
    expect(successes.entries.every((e) => !e.error)).toBe(true);
  });

  it("who wrote each version: a KV write's response entry keeps its version in clear", async () => {
    const { entries } = await query({ path: 'secret/data/app/db', type: 'response', outcome: 'success' });
    const writes = entries.filter((e) => e.request.operation === 'create' || e.request.operation === 'update');
    expect(writes.map((e) => [e.request.operation, e.response.data.version, e.auth.display_name])).toEqual([
      ['update', 2, 'root'],
      ['create', 1, 'root'],
    ]);
  });

  it('pages with next_cursor: every entry once, and no cursor after the last page', async () => {
    const all = await query({ path: 'secret/data/app/db', limit: '100' });
    expect(all.next_cursor).toBeUndefined();
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const data = await query({ path: 'secret/data/app/db', limit: '2', ...(cursor ? { cursor } : {}) });
      seen.push(...data.entries.map((e) => e.hash));
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(all.entries.map((e) => e.hash));

    const bad = await root('GET', 'sys/audit/query?cursor=garbage');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatch(/cursor/);
    const badOutcome = await root('GET', 'sys/audit/query?outcome=maybe');
    expect(badOutcome.status).toBe(400);
    expect(badOutcome.body.errors[0]).toMatch(/outcome/);
  });

  it('sys/audit/verify: every device intact, and a changed file line is named', async () => {
    const res = await root('GET', 'sys/audit/verify');
    expect(res.status, res.text).toBe(200);
    const devices = res.body.data.devices as Array<Record<string, unknown>>;
    expect(devices).toEqual([
      expect.objectContaining({ path: 'db/', type: 'database', ok: true, state: 'intact' }),
      expect.objectContaining({ path: 'file/', type: 'file', ok: true, state: 'intact', file_path: auditFile }),
    ]);
    expect(devices.every((d) => Number(d.entries) > 0 && typeof d.elapsed_ms === 'number')).toBe(true);

    // Change one byte of the second line; the device keeps appending after it.
    const lines = readFileSync(auditFile, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"seq":2', '"seq":9');
    writeFileSync(auditFile, lines.join('\n'));
    const after = await root('GET', 'sys/audit/verify?timeout=30s');
    const file = (after.body.data.devices as Array<Record<string, unknown>>).find((d) => d.path === 'file/');
    expect(file).toMatchObject({ ok: false, state: 'broken', bad_line: 2 });
    expect(String(file!.reason)).toMatch(/changed entry/);
  });

  it('sys/audit/verify needs sudo, and a bad timeout is a 400', async () => {
    await root('PUT', 'sys/policies/acl/audit-read', { policy: 'path "sys/audit/*" { capabilities = ["read"] }' });
    const plain = await root('POST', 'auth/token/create', { policies: ['audit-read'] });
    const denied = await api(server.url, 'GET', 'sys/audit/verify', { token: plain.body.auth.client_token });
    expect(denied.status).toBe(403);
    expect(denied.body.errors).toEqual(['permission denied']);
    const tooLong = await root('GET', 'sys/audit/verify?timeout=1h');
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors[0]).toMatch(/timeout/);
    // The endpoint only reads: no device can be enabled at its path.
    const reserved = await root('PUT', 'sys/audit/verify', { type: 'database' });
    expect(reserved.status).toBe(405);
  });
});
