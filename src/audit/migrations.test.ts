import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { chainBatch, genesisHead } from './chain.js';
import { migrations } from './migrations.js';
import { rowOf } from './repository.js';
import { sampleEvent } from './testing.js';
import type { AuditEvent } from './types.js';
import { verifyDatabaseChain } from './verify.js';

/**
 * 0402 adds `outcome` and `entity_id` to audit_log: rows written before it must get exactly the values new rows get,
 * or verification (which checks the columns against the hashed record) would call an intact log changed.
 */
describeEachEngine('audit migrations: 0402 fills the explorer columns of existing rows', (ctx) => {
  it('fills outcome and entity_id from each record; the chain still verifies', async () => {
    const db = ctx.storage().db;
    const explorer = migrations['0402_audit_explorer']!;
    await explorer.down!(db);

    const events: AuditEvent[] = [
      sampleEvent(0), // a response without error: success
      sampleEvent(1, { type: 'request', response: undefined }), // a request entry: no outcome yet
      sampleEvent(2, { type: 'request', response: undefined, error: 'permission denied' }), // refused: error
      sampleEvent(3, { response: { status: 404 }, error: 'not found' }), // failed response: error
      sampleEvent(4, { auth: { accessor: 'a', display_name: 'oidc-eve', entity_id: 'ent-eve' } }),
      // A key named "error" inside HMAC'd request data is not the entry's error.
      sampleEvent(5, { request: { id: 'r5', operation: 'update', path: 'p', data: { error: 'x' } } }),
    ];
    const { records, lines } = chainBatch(genesisHead(), events);
    const rows = records.map((r, i) => rowOf('node-old', r, lines[i]!, 0));
    const before0402 = rows.map(({ outcome: _o, entity_id: _e, ...rest }) => rest);
    await db.insertInto('audit_log').values(before0402).execute();

    await explorer.up(db);

    const filled = await db
      .selectFrom('audit_log')
      .select(['seq', 'outcome', 'entity_id'])
      .where('node_id', '=', 'node-old')
      .orderBy('seq')
      .execute();
    expect(filled.map((r) => [Number(r.seq), r.outcome, r.entity_id])).toEqual([
      [1, 'success', null],
      [2, null, null],
      [3, 'error', null],
      [4, 'error', null],
      [5, 'success', 'ent-eve'],
      [6, 'success', null],
    ]);
    expect(filled.map((r) => r.outcome)).toEqual(rows.map((r) => r.outcome));
    expect(await verifyDatabaseChain(ctx.storage(), 'node-old')).toMatchObject({ ok: true, entries: 6 });
  });
});
