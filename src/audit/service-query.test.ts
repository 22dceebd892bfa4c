import { beforeEach, describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { useAuditServices } from './service-testing.js';
import { sampleEvent } from './testing.js';
import type { AuditService } from './types.js';
import { verifyDatabaseChain } from './verify.js';

/** The audit service's query API and its database chain verification (devices: service.test.ts). */
describeEachEngine('audit service: query and chain', (ctx) => {
  const { open } = useAuditServices(ctx);

  describe('query', () => {
    let audit: AuditService;
    const base = Date.UTC(2025, 0, 1);
    beforeEach(async () => {
      audit = await open('node-query');
      await audit.enable({ path: 'database/', type: 'database', description: '', options: {} });
      const events = [
        sampleEvent(0, {
          time: new Date(base).toISOString(),
          auth: { accessor: 'acc-alice', display_name: 'alice' },
          request: { id: '0', operation: 'read', path: 'secret/data/app/db' },
        }),
        sampleEvent(1, {
          time: new Date(base + 1000).toISOString(),
          auth: { accessor: 'acc-bob', display_name: 'bob' },
          request: { id: '1', operation: 'update', path: 'secret/data/app/api' },
        }),
        sampleEvent(2, {
          time: new Date(base + 2000).toISOString(),
          auth: { accessor: 'acc-alice', display_name: 'alice' },
          request: { id: '2', operation: 'delete', path: 'secret/data/apple' },
        }),
        sampleEvent(3, {
          time: new Date(base + 3000).toISOString(),
          auth: { accessor: 'acc-bob', display_name: 'bob' },
          request: { id: '3', operation: 'read', path: 'Secret/data/app/db' },
        }),
        sampleEvent(4, {
          time: new Date(base + 4000).toISOString(),
          auth: undefined,
          request: { id: '4', operation: 'update', path: 'auth/kubernetes/login' },
          response: { status: 200, auth: { client_token: 't', accessor: 'acc-new' } },
        }),
      ];
      for (const event of events) await audit.log(event);
    });
    const ids = async (q: Parameters<AuditService['query']>[0]) => (await audit.query(q)).map((r) => r.request.id);

    it('returns newest first, with a limit', async () => {
      expect(await ids({})).toEqual(['4', '3', '2', '1', '0']);
      expect(await ids({ limit: 2 })).toEqual(['4', '3']);
      await expect(audit.query({ limit: 0 })).rejects.toMatchObject({ kind: 'invalid' });
    });

    it('filters by exact path and by case-sensitive prefix', async () => {
      expect(await ids({ path: 'secret/data/app/db' })).toEqual(['0']);
      expect(await ids({ path: 'secret/data/app/*' })).toEqual(['1', '0']);
      expect(await ids({ path: 'secret/data/app*' })).toEqual(['2', '1', '0']);
      expect(await ids({ path: '*' })).toHaveLength(5);
      expect(await ids({ path: 'secret/data/app' })).toEqual([]);
    });

    it('filters by accessor (given in clear or as its HMAC), display name and operation', async () => {
      expect(await ids({ accessor: 'acc-alice' })).toEqual(['2', '0']);
      expect(await ids({ accessor: audit.hash('acc-bob') })).toEqual(['3', '1']);
      expect(await ids({ accessor: 'acc-new' })).toEqual(['4']);
      expect(await ids({ displayName: 'bob' })).toEqual(['3', '1']);
      expect(await ids({ operation: 'read' })).toEqual(['3', '0']);
      expect(await ids({ operation: 'read', displayName: 'alice' })).toEqual(['0']);
    });

    it('filters by time range (inclusive)', async () => {
      expect(await ids({ since: base + 1000, until: base + 3000 })).toEqual(['3', '2', '1']);
      expect(await ids({ since: base + 3500 })).toEqual(['4']);
    });

    it('filters by entity, client address, entry type and outcome', async () => {
      const at = (n: number) => new Date(base + 10_000 + n * 1000).toISOString();
      await audit.log(
        sampleEvent(5, {
          time: at(0),
          type: 'request',
          auth: { accessor: 'acc-carol', display_name: 'oidc-carol', entity_id: 'ent-carol' },
          request: { id: '5', operation: 'read', path: 'secret/data/app/db', remote_address: '192.0.2.7' },
          response: undefined,
          error: 'permission denied',
        }),
      );
      await audit.log(
        sampleEvent(6, {
          time: at(1),
          auth: { accessor: 'acc-carol', display_name: 'oidc-carol', entity_id: 'ent-carol' },
          request: { id: '6', operation: 'update', path: 'secret/data/app/db', remote_address: '192.0.2.7' },
          response: { status: 400 },
          error: 'check-and-set parameter did not match',
        }),
      );
      await audit.log(
        sampleEvent(7, {
          time: at(2),
          type: 'request',
          auth: { accessor: 'acc-carol', display_name: 'oidc-carol', entity_id: 'ent-carol' },
          request: { id: '7', operation: 'read', path: 'secret/data/app/db', remote_address: '192.0.2.8' },
          response: undefined,
        }),
      );
      expect(await ids({ entityId: 'ent-carol' })).toEqual(['7', '6', '5']);
      expect(await ids({ remoteAddress: '192.0.2.7' })).toEqual(['6', '5']);
      expect(await ids({ outcome: 'error' })).toEqual(['6', '5']);
      // The sample entries 0-4 are responses without error; a request entry without error has no outcome yet.
      expect(await ids({ outcome: 'success' })).toEqual(['4', '3', '2', '1', '0']);
      expect(await ids({ type: 'request' })).toEqual(['7', '5']);
      expect(await ids({ type: 'response', entityId: 'ent-carol' })).toEqual(['6']);
    });

    it('identity matches a display name, an entity id or an accessor (in clear or HMAC), nothing else', async () => {
      await audit.log(
        sampleEvent(5, {
          time: new Date(base + 5000).toISOString(),
          auth: { accessor: 'acc-dave', display_name: 'dave', entity_id: 'ent-dave' },
          request: { id: '5', operation: 'read', path: 'secret/data/x' },
        }),
      );
      expect(await ids({ identity: 'dave' })).toEqual(['5']);
      expect(await ids({ identity: 'ent-dave' })).toEqual(['5']);
      expect(await ids({ identity: 'acc-dave' })).toEqual(['5']);
      expect(await ids({ identity: audit.hash('acc-dave') })).toEqual(['5']);
      expect(await ids({ identity: 'alice' })).toEqual(['2', '0']);
      expect(await ids({ identity: 'secret/data/x' })).toEqual([]);
    });

    it('pages with a cursor: every entry exactly once, in order, and the last page has no cursor', async () => {
      // Two entries in the same millisecond: the cursor must tell them apart by seq.
      await audit.logAll([
        sampleEvent(5, {
          time: new Date(base + 9000).toISOString(),
          request: { id: '5', operation: 'read', path: 'p' },
        }),
        sampleEvent(6, {
          time: new Date(base + 9000).toISOString(),
          request: { id: '6', operation: 'read', path: 'p' },
        }),
      ]);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await audit.queryPage({ limit: 3, ...(cursor !== undefined ? { cursor } : {}) });
        seen.push(...page.entries.map((r) => r.request.id));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== undefined && pages < 10);
      expect(seen).toEqual(['6', '5', '4', '3', '2', '1', '0']);
      expect(pages).toBe(3);
      // Filters apply on every page.
      const reads = await audit.queryPage({ operation: 'read', limit: 2 });
      expect(reads.entries.map((r) => r.request.id)).toEqual(['6', '5']);
      const more = await audit.queryPage({ operation: 'read', limit: 2, cursor: reads.nextCursor! });
      expect(more.entries.map((r) => r.request.id)).toEqual(['3', '0']);
    });

    it('refuses a cursor it did not make', async () => {
      for (const cursor of ['not a cursor', Buffer.from('[1,2]').toString('base64url'), 'e30']) {
        await expect(audit.queryPage({ cursor })).rejects.toMatchObject({
          kind: 'invalid',
          message: expect.stringMatching(/cursor/),
        });
      }
    });

    it('returns the redacted records with their chain fields', async () => {
      const [record] = await audit.query({ limit: 1 });
      expect(record).toMatchObject({ seq: 5, response: { auth: { client_token: audit.hash('t') } } });
      expect(record!.hash).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('database chain verification', () => {
    const table = () => ctx.storage().db;
    const seed = async (nodeId: string, count: number) => {
      const audit = await open(nodeId);
      await audit.enable({ path: `db-${nodeId}/`, type: 'database', description: '', options: {} });
      for (let i = 0; i < count; i++) await audit.log(sampleEvent(i));
      await audit.close();
    };

    it('keeps one chain per process: two nodes sharing a database both verify', async () => {
      await seed('node-a', 4);
      await ctx.storage().db.deleteFrom('audit_sinks').execute();
      await seed('node-b', 3);
      expect(await verifyDatabaseChain(ctx.storage())).toEqual({ ok: true, entries: 7 });
      expect(await verifyDatabaseChain(ctx.storage(), 'node-b')).toMatchObject({ ok: true, entries: 3, lastSeq: 3 });
    });

    it('detects a changed record, a deleted row and an edited index column', async () => {
      await seed('node-t', 6);
      const row = await table()
        .selectFrom('audit_log')
        .select('record')
        .where('node_id', '=', 'node-t')
        .where('seq', '=', 3)
        .executeTakeFirstOrThrow();
      await table()
        .updateTable('audit_log')
        .set({ record: String(row.record).replace('secret/data/app/2', 'secret/data/app/x') })
        .where('node_id', '=', 'node-t')
        .where('seq', '=', 3)
        .execute();
      expect(await verifyDatabaseChain(ctx.storage(), 'node-t')).toMatchObject({
        ok: false,
        badLine: 3,
        nodeId: 'node-t',
        reason: expect.stringMatching(/^changed entry/),
      });
      await table()
        .updateTable('audit_log')
        .set({ record: row.record })
        .where('node_id', '=', 'node-t')
        .where('seq', '=', 3)
        .execute();
      expect(await verifyDatabaseChain(ctx.storage(), 'node-t')).toMatchObject({ ok: true });

      await table()
        .updateTable('audit_log')
        .set({ path: 'hidden' })
        .where('node_id', '=', 'node-t')
        .where('seq', '=', 2)
        .execute();
      expect(await verifyDatabaseChain(ctx.storage(), 'node-t')).toMatchObject({
        ok: false,
        badLine: 2,
        reason: expect.stringMatching(/column path/),
      });
      await table()
        .updateTable('audit_log')
        .set({ path: 'secret/data/app/1' })
        .where('node_id', '=', 'node-t')
        .where('seq', '=', 2)
        .execute();

      await table().deleteFrom('audit_log').where('node_id', '=', 'node-t').where('seq', '=', 4).execute();
      expect(await verifyDatabaseChain(ctx.storage(), 'node-t')).toMatchObject({
        ok: false,
        badLine: 4,
        reason: expect.stringMatching(/^missing entry/),
      });

      await table().deleteFrom('audit_log').where('node_id', '=', 'node-t').where('seq', '=', 1).execute();
      expect(await verifyDatabaseChain(ctx.storage(), 'node-t')).toMatchObject({
        ok: false,
        badLine: 1,
        reason: expect.stringMatching(/^missing entry/),
      });
    });
  });
});
