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
