import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { isStrongroomError } from '../shared/errors.js';
import { createKvService } from './service.js';
import { kvMount } from './test-helpers.js';
import { createTestBarrier } from './testing.js';

/**
 * Model-based property test: random sequences of KV operations against the service and against a plain in-memory
 * model of Vault's KV v2 rules; after every step, reads and metadata must agree with the model.
 */
type Command =
  | { op: 'write'; value: number; cas?: number }
  | { op: 'deleteLatest' }
  | { op: 'delete' | 'undelete' | 'destroy'; version: number }
  | { op: 'maxVersions'; n: number };

interface ModelVersion {
  value: number;
  deleted: boolean;
  destroyed: boolean;
}

class Model {
  exists = false;
  current = 0;
  oldest = 0;
  maxVersions = 0;
  versions = new Map<number, ModelVersion>();

  /** Returns the outcome the service must produce: 'ok' or 'cas_mismatch'. */
  apply(c: Command): 'ok' | 'cas_mismatch' {
    switch (c.op) {
      case 'write': {
        if (c.cas !== undefined && c.cas !== this.current) return 'cas_mismatch';
        this.exists = true;
        this.current += 1;
        this.versions.set(this.current, { value: c.value, deleted: false, destroyed: false });
        const max = this.maxVersions || 10;
        if (this.current - this.oldest >= max) {
          const cut = this.current - max;
          for (const v of [...this.versions.keys()]) if (v <= cut) this.versions.delete(v);
          this.oldest = cut + 1;
        }
        return 'ok';
      }
      case 'deleteLatest': {
        const v = this.versions.get(this.current);
        if (v && !v.destroyed) v.deleted = true;
        return 'ok';
      }
      case 'delete':
      case 'undelete': {
        const v = this.versions.get(c.version);
        if (v && !v.destroyed) v.deleted = c.op === 'delete';
        return 'ok';
      }
      case 'destroy': {
        const v = this.versions.get(c.version);
        if (v) v.destroyed = true;
        return 'ok';
      }
      case 'maxVersions':
        this.exists = true;
        this.maxVersions = c.n;
        return 'ok';
    }
  }
}

const version = fc.integer({ min: 1, max: 14 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write' as const), value: fc.nat(1000) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      value: fc.nat(1000),
      cas: fc.integer({ min: 0, max: 14 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'deleteLatest' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom('delete' as const, 'undelete' as const, 'destroy' as const), version }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('maxVersions' as const), n: fc.integer({ min: 0, max: 4 }) }) },
);

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isStrongroomError(err)) return String(err.details?.reason ?? err.kind);
    throw err;
  }
}

describeEachEngine('kv version model', (ctx) => {
  it('agrees with the model after every step of random operation sequences', async () => {
    let clock = 1_700_000_000_000;
    const kv = createKvService({ storage: ctx.storage(), barrier: createTestBarrier(), now: () => (clock += 1) });
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 18 }), async (commands) => {
        const mount = kvMount();
        const model = new Model();
        for (const c of commands) {
          const expected = model.apply(c);
          const actual = await outcome(
            c.op === 'write'
              ? kv.write(mount, 'm', { value: c.value }, c.cas === undefined ? undefined : { cas: c.cas })
              : c.op === 'deleteLatest'
                ? kv.deleteLatest(mount, 'm')
                : c.op === 'delete'
                  ? kv.deleteVersions(mount, 'm', [c.version])
                  : c.op === 'undelete'
                    ? kv.undeleteVersions(mount, 'm', [c.version])
                    : c.op === 'destroy'
                      ? kv.destroyVersions(mount, 'm', [c.version])
                      : kv.writeMetadata(mount, 'm', { maxVersions: (c as { n: number }).n }),
          );
          expect(actual).toBe(expected);

          if (!model.exists) {
            expect(await outcome(kv.readMetadata(mount, 'm'))).toBe('not_found');
            continue;
          }
          const meta = await kv.readMetadata(mount, 'm');
          expect(meta.currentVersion).toBe(model.current);
          expect(meta.oldestVersion).toBe(model.oldest);
          expect(meta.maxVersions).toBe(model.maxVersions);
          expect(Object.keys(meta.versions).map(Number)).toEqual([...model.versions.keys()].sort((a, b) => a - b));
          for (const [n, v] of model.versions) {
            expect(meta.versions[n]!.destroyed).toBe(v.destroyed);
            if (!v.destroyed) expect(meta.versions[n]!.deletionTime !== 0).toBe(v.deleted);
          }
          for (let n = 0; n <= model.current + 1; n++) {
            const wanted = n === 0 ? model.current : n;
            const v = model.versions.get(wanted);
            const read = await kv.read(mount, 'm', n).then(
              (r) => ({ ok: true as const, value: r.data.value, version: r.metadata.version }),
              (e: unknown) => ({ ok: false as const, kind: isStrongroomError(e) ? e.kind : String(e) }),
            );
            if (v && !v.deleted && !v.destroyed) expect(read).toEqual({ ok: true, value: v.value, version: wanted });
            else expect(read).toEqual({ ok: false, kind: 'not_found' });
          }
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
