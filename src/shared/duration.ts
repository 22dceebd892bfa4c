import { invalid } from './errors.js';

/**
 * Vault/Go durations → whole seconds. Accepts what Vault's `parseutil.ParseDurationSecond` accepts:
 *   - a non-negative integer number of seconds, as a number or a string (`3600`, `"3600"`, `"0"`)
 *   - a Go duration: one or more `<decimal><unit>` terms, unit in ns, us, µs, μs, ms, s, m, h (`"1h30m"`, `"1.5h"`)
 *   - a whole number of days with `d` (`"7d"`), which Vault added for convenience
 * Sub-second remainders are truncated (Vault truncates to the second too). Negative, empty, NaN or absurdly large
 * inputs are rejected with StrongroomError('invalid') — a TTL that silently became 0 would mean "default" or
 * "never expires", which is the opposite of what the caller meant.
 */

/**
 * Vault's system default and maximum lease TTL: 768h (32 days). Strongroom has no per-mount lease TTLs, so every
 * mount's effective TTLs are these (tune reads report them, as Vault does for a mount without its own), and the
 * token store uses them for tokens.
 */
export const SYSTEM_LEASE_TTL_SECONDS = 768 * 3600;

const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.Duration is int64 nanoseconds: ~292 years. Anything beyond is not a duration Vault accepts either. */
const MAX_SECONDS = Number(9_223_372_036_854_775_807n / 1_000_000_000n);

const INTEGER = /^\d+$/;
const DAYS = /^(\d+)d$/;
const TERM = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0 || input > MAX_SECONDS) throw bad(String(input));
    return input;
  }
  if (typeof input !== 'string') throw bad(String(input));
  const text = input.trim();
  if (INTEGER.test(text)) return checked(Number(text), text);
  const days = DAYS.exec(text);
  if (days) return checked(Number(days[1]) * 86_400, text);
  return checked(parseGoDuration(text), text);
}

/** Like parseDuration, but `undefined`, `null` and `''` mean "not given" (useful for optional request fields). */
export function parseOptionalDuration(input: string | number | null | undefined): number | undefined {
  if (input === undefined || input === null || input === '') return undefined;
  return parseDuration(input);
}

/**
 * Seconds → Go's `time.Duration.String()` form, as Vault reads durations back: every unit below the largest one
 * present is printed, even when zero (`1800` → `"30m0s"`, `5400` → `"1h30m0s"`, `0` → `"0s"`).
 */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw bad(String(seconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function parseGoDuration(text: string): number {
  if (text === '') throw bad(text);
  // Accumulate whole nanoseconds per term; fractions are handled digit-exactly so "1.1s" is not 1.0999999 s.
  let nanos = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < text.length) {
    const at = TERM.lastIndex;
    const match = TERM.exec(text);
    if (!match || match.index !== at) throw bad(text);
    const [, whole = '', fraction = '', unit = ''] = match;
    if (whole === '' && fraction === '') throw bad(text);
    const scale = NANOS_PER_UNIT[unit];
    if (scale === undefined) throw bad(text);
    nanos += Number(whole || '0') * scale + fractionNanos(fraction, scale);
    if (!Number.isFinite(nanos) || nanos / 1e9 > MAX_SECONDS) throw bad(text);
  }
  return Math.floor(nanos / 1e9);
}

function fractionNanos(fraction: string, scale: number): number {
  if (fraction === '') return 0;
  // Only the first 12 digits can matter at nanosecond resolution for units up to an hour (3.6e12 ns).
  const digits = fraction.slice(0, 12);
  return Math.floor((Number(digits) * scale) / 10 ** digits.length);
}

function checked(seconds: number, text: string): number {
  if (!Number.isSafeInteger(seconds) || seconds > MAX_SECONDS) throw bad(text);
  return seconds;
}

function bad(text: string) {
  // Durations are not secret, but cap the echo so a pasted blob does not flood logs.
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return invalid(`invalid duration "${shown}": use seconds (3600) or a duration like "30s", "1h30m", "768h"`);
}
