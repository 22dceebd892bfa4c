import { describe, expect, it } from 'vitest';
import {
  defaultDiffPair,
  diffRows,
  rollbackBlocker,
  versionList,
  versionRows,
  writersByVersion,
  type AuditEntry,
  type KvMetadata,
} from '../../ui/src/views/secrets/history/model.js';

/*
 * The History tab's pure logic: the states of a secret's versions and who wrote each one, from entries shaped as
 * sys/audit/query returns them (see the browser test for the same against a real server).
 */
const NOW = Date.parse('2026-12-07T12:00:00Z');

const meta: KvMetadata = {
  current_version: 4,
  oldest_version: 0,
  versions: {
    '1': { created_time: '2026-12-07T10:00:00.000Z', deletion_time: '', destroyed: true },
    '2': { created_time: '2026-12-07T10:05:00.000Z', deletion_time: '2026-12-07T11:00:00.000Z', destroyed: false },
    '3': { created_time: '2026-12-07T10:10:00.000Z', deletion_time: '2026-12-08T00:00:00.000Z', destroyed: false },
    '4': { created_time: '2026-12-07T10:15:00.000Z', deletion_time: '', destroyed: false },
  },
};

function response(version: number, created: string, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    type: 'response',
    time: created,
    auth: { display_name: 'token-alice', entity_id: 'ent-1' },
    request: { operation: 'update', path: 'secret/data/app/db', remote_address: '10.0.0.7' },
    response: { status: 200, data: { version, created_time: created } },
    ...extra,
  };
}

describe('history model', () => {
  it('orders versions newest first and tells live, scheduled, deleted and destroyed apart', () => {
    const rows = versionRows(meta, NOW);
    expect(rows.map((r) => [r.version, r.state, r.current])).toEqual([
      [4, 'live', true],
      [3, 'scheduled', false],
      [2, 'deleted', false],
      [1, 'destroyed', false],
    ]);
    expect(rollbackBlocker(rows[0]!)).toBe('This is the current version.');
    expect(rollbackBlocker(rows[1]!)).toBeUndefined();
    expect(rollbackBlocker(rows[2]!)).toMatch(/^No rollback to a deleted version: .*Undelete it first/);
    expect(rollbackBlocker(rows[3]!)).toMatch(/^No rollback to a destroyed version: /);
    // The default comparison skips what cannot be read: the readable version before the current one.
    expect(defaultDiffPair(rows)).toEqual({ a: 3, b: 4 });
    expect(defaultDiffPair(rows.filter((r) => r.version !== 3))).toBeUndefined();
  });

  it('finds each version’s writer by number and creation time, and ignores requests, failures and an older secret', () => {
    const rows = versionRows(meta, NOW);
    const entries: AuditEntry[] = [
      response(4, meta.versions['4']!.created_time, {
        request: { operation: 'update', path: 'secret/rollback/app/db', remote_address: '10.0.0.9' },
        auth: { display_name: 'token-bob' },
      }),
      // The request entry of the same write: no response data.
      { type: 'request', time: '2026-12-07T10:15:00.000Z', request: { operation: 'update', path: 'x' } },
      // A refused write (CAS conflict) has no version.
      { ...response(3, meta.versions['3']!.created_time), response: { status: 400 } },
      response(3, meta.versions['3']!.created_time, {
        request: { operation: 'patch', path: 'secret/data/app/db', remote_address: '10.0.0.8' },
      }),
      // Version 2 of a secret that was deleted and written again at the same path: another creation time.
      response(2, '2026-11-01T09:00:00.000Z', { auth: { display_name: 'token-mallory' } }),
      response(2, meta.versions['2']!.created_time),
    ];
    const writers = writersByVersion(entries, rows);
    expect(writers.get(4)).toEqual({
      displayName: 'token-bob',
      remoteAddress: '10.0.0.9',
      time: meta.versions['4']!.created_time,
      via: 'rollback',
    });
    expect(writers.get(3)).toMatchObject({ displayName: 'token-alice', entityId: 'ent-1', via: 'patch' });
    expect(writers.get(2)).toMatchObject({ displayName: 'token-alice', via: 'write', remoteAddress: '10.0.0.7' });
    expect(writers.has(1)).toBe(false);
  });

  it('lays a diff out key by key, with values only when the answer carries them', () => {
    const answer = { from: 1, to: 3, added: ['port'], removed: ['old'], changed: ['password'] };
    expect(diffRows(answer)).toEqual([
      { key: 'old', change: 'removed' },
      { key: 'password', change: 'changed' },
      { key: 'port', change: 'added' },
    ]);
    const withValues = diffRows({
      ...answer,
      values: { port: { to: 5432 }, old: { from: 'x' }, password: { from: 'a', to: 'b' } },
    });
    expect(withValues).toEqual([
      { key: 'old', change: 'removed', a: 'x' },
      { key: 'password', change: 'changed', a: 'a', b: 'b' },
      { key: 'port', change: 'added', b: 5432 },
    ]);
    expect(versionList([3, 1, 2])).toBe('1, 2 and 3');
    expect(versionList([2])).toBe('2');
  });
});
