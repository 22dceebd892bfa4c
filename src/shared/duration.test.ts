import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from './errors.js';
import { formatDuration, parseDuration, parseOptionalDuration } from './duration.js';

function expectInvalid(input: string | number) {
  let caught: unknown;
  try {
    parseDuration(input);
  } catch (err) {
    caught = err;
  }
  expect(isStrongroomError(caught, 'invalid'), `expected ${JSON.stringify(input)} to be rejected`).toBe(true);
}

describe('parseDuration', () => {
  it.each([
    ['30s', 30],
    ['1h30m', 5400],
    ['768h', 2_764_800],
    ['0', 0],
    ['0s', 0],
    ['3600', 3600],
    ['1.5h', 5400],
    ['1.1s', 1],
    ['1500ms', 1],
    ['500ms', 0],
    ['2h45m30s', 9930],
    ['7d', 604_800],
    [' 10m ', 600],
    ['1000000us', 1],
    ['1000000µs', 1],
  ] as const)('parses %s as %i seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it('accepts integer seconds given as a number', () => {
    expect(parseDuration(90)).toBe(90);
    expect(parseDuration(0)).toBe(0);
  });

  it.each(['', 'h', '1x', '-1h', '1h-5m', '1.5', '1e3', 'abc', '1 h', '.s', '1.5d', 'NaN', '99999999999999h'])(
    'rejects %j',
    (input) => expectInvalid(input),
  );

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (input) => expectInvalid(input));

  it('treats empty optional values as not given', () => {
    expect(parseOptionalDuration(undefined)).toBeUndefined();
    expect(parseOptionalDuration('')).toBeUndefined();
    expect(parseOptionalDuration('5m')).toBe(300);
  });

  it('property: h/m/s compositions sum their parts', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(59), fc.nat(59), (h, m, s) => {
        expect(parseDuration(`${h}h${m}m${s}s`)).toBe(h * 3600 + m * 60 + s);
      }),
    );
  });

  it('property: integer seconds parse to themselves, as number and string', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000_000), (n) => {
        expect(parseDuration(n)).toBe(n);
        expect(parseDuration(String(n))).toBe(n);
      }),
    );
  });

  it("formatDuration prints Go's time.Duration form, as Vault reads durations back", () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(45)).toBe('45s');
    expect(formatDuration(60)).toBe('1m0s');
    expect(formatDuration(90)).toBe('1m30s');
    expect(formatDuration(1800)).toBe('30m0s');
    expect(formatDuration(3600)).toBe('1h0m0s');
    expect(formatDuration(5400)).toBe('1h30m0s');
    expect(formatDuration(3601)).toBe('1h0m1s');
    expect(formatDuration(768 * 3600)).toBe('768h0m0s');
  });

  it('property: formatDuration is h, m and s with every unit below the largest present (Go)', () => {
    fc.assert(
      fc.property(fc.nat(100_000_000), (n) => {
        const text = formatDuration(n);
        if (n < 60) expect(text).toBe(`${n}s`);
        else if (n < 3600) expect(text).toMatch(/^[1-9]\d?m\d{1,2}s$/);
        else expect(text).toMatch(/^[1-9]\d*h\d{1,2}m\d{1,2}s$/);
      }),
    );
  });

  it('property: formatDuration round-trips through parseDuration', () => {
    fc.assert(
      fc.property(fc.nat(100_000_000), (n) => {
        expect(parseDuration(formatDuration(n))).toBe(n);
      }),
    );
  });

  it('property: any other string either parses to a safe non-negative integer or is rejected as invalid', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (text) => {
        try {
          const seconds = parseDuration(text);
          expect(Number.isSafeInteger(seconds) && seconds >= 0).toBe(true);
        } catch (err) {
          expect(isStrongroomError(err, 'invalid')).toBe(true);
        }
      }),
    );
  });
});
