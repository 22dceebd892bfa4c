import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../../shared/errors.js';
import { cronMatches, cronNext, parseCron } from './cron.js';

const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);

/** Random but valid expressions: each field a list of `*`, values, ranges or steps. */
function field(min: number, max: number, names: readonly string[] = []): fc.Arbitrary<string> {
  const value = fc.integer({ min, max });
  const item = fc.oneof(
    fc.constant('*'),
    value.map(String),
    fc.tuple(value, value).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.integer({ min: 1, max: max - min + 1 }).map((n) => `*/${n}`),
    fc.tuple(value, fc.integer({ min: 1, max: 10 })).map(([a, n]) => `${a}/${n}`),
    ...(names.length > 0 ? [fc.constantFrom(...names)] : []),
  );
  return fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(','));
}

const expression = fc
  .tuple(
    field(0, 59),
    field(0, 23),
    field(1, 28),
    field(1, 12, ['jan', 'MAR', 'Dec']),
    field(0, 7, ['sun', 'MON', 'Fri']),
  )
  .map((f) => f.join(' '));
// 2000-01-01 .. 2040-01-01
const instant = fc.integer({ min: 946_684_800_000, max: 2_208_988_800_000 });

describe('cron parser', () => {
  it('finds the next match: a match, strictly later, with no earlier match in between', () => {
    fc.assert(
      fc.property(expression, instant, (expr, t) => {
        const s = parseCron(expr);
        const next = cronNext(s, t);
        // Every generated day of month is <= 28, so every schedule fires within the search horizon.
        expect(next).not.toBeNull();
        const n = next as number;
        expect(n).toBeGreaterThan(t);
        expect(n % MINUTE).toBe(0);
        expect(cronMatches(s, n)).toBe(true);
        // No earlier minute matches (bounded brute force: only check when the gap is small enough).
        if (n - t <= 3 * 24 * 60 * MINUTE) {
          for (let m = Math.floor(t / MINUTE) * MINUTE + MINUTE; m < n; m += MINUTE)
            expect(cronMatches(s, m)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('is monotonic: a later start never yields an earlier fire time', () => {
    fc.assert(
      fc.property(expression, instant, fc.integer({ min: 0, max: 400 * 24 * 60 * MINUTE }), (expr, t, delta) => {
        const s = parseCron(expr);
        const a = cronNext(s, t) as number;
        const b = cronNext(s, t + delta) as number;
        expect(b).toBeGreaterThanOrEqual(a);
        // Firing times chain: the one after `a` is the first after `a`'s own minute.
        expect(cronNext(s, a)).toBeGreaterThan(a);
      }),
      { numRuns: 150 },
    );
  });

  it('reads names, steps, ranges and 7 as Sunday', () => {
    const s = parseCron('*/15 9-17/4 * jan-Mar mon-fri');
    expect([...s.minutes]).toEqual([0, 15, 30, 45]);
    expect([...s.hours]).toEqual([9, 13, 17]);
    expect([...s.months]).toEqual([1, 2, 3]);
    expect([...s.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCron('0 0 * * 7').daysOfWeek]).toEqual([0]);
    expect([...parseCron('5/20 * * * *').minutes]).toEqual([5, 25, 45]);
  });

  it('fires on the next Saturday midnight, and on either day field when both are restricted', () => {
    // 2026-12-07 is a Monday.
    expect(cronNext(parseCron('0 0 * * SAT'), at('2026-12-07T12:00:00Z'))).toBe(at('2026-12-12T00:00:00Z'));
    // The 1st of the month OR a Friday: Friday 2026-12-11 comes before 2027-01-01.
    expect(cronNext(parseCron('30 6 1 * 5'), at('2026-12-07T12:00:00Z'))).toBe(at('2026-12-11T06:30:00Z'));
    // A stepped star restricts ('*/2' is odd days): then either field may match, as robfig/cron.
    expect(cronNext(parseCron('0 0 */2 * MON'), at('2026-12-07T12:00:00Z'))).toBe(at('2026-12-09T00:00:00Z'));
    expect(cronNext(parseCron('0 0 */1 * MON'), at('2026-12-07T12:00:00Z'))).toBe(at('2026-12-14T00:00:00Z'));
    // With day of month '*', only Fridays count.
    expect(cronNext(parseCron('30 6 * * 5'), at('2026-12-11T06:30:00Z'))).toBe(at('2026-12-18T06:30:00Z'));
    // Leap day.
    expect(cronNext(parseCron('0 12 29 2 *'), at('2026-12-07T00:00:00Z'))).toBe(at('2028-02-29T12:00:00Z'));
    // An impossible date never fires.
    expect(cronNext(parseCron('0 0 31 2 *'), at('2026-12-07T00:00:00Z'))).toBeNull();
  });

  it('refuses malformed expressions with an invalid error', () => {
    for (const bad of [
      '',
      '* * * *',
      '* * * * * *',
      '60 * * * *',
      '* 24 * * *',
      '* * 0 * *',
      '* * * 13 *',
      '* * * * 8',
      '5-1 * * * *',
      '*/0 * * * *',
      '1,,2 * * * *',
      '* * * FOO *',
      '? * * * *',
      '@daily',
      '1-2-3 * * * *',
    ]) {
      let err: unknown;
      try {
        parseCron(bad);
      } catch (e) {
        err = e;
      }
      expect(isStrongroomError(err, 'invalid'), bad).toBe(true);
      expect((err as Error).message).toMatch(/^could not parse rotation_schedule/);
    }
  });
});
