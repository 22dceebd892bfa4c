import { invalid } from '../../shared/errors.js';

/**
 * Standard 5-field cron (minute hour day-of-month month day-of-week), the syntax Vault accepts for a static role's
 * `rotation_schedule` (robfig/cron's standard parser): `*`, lists `a,b`, ranges `a-b`, steps `*\/n` and `a-b/n`,
 * `a/n` (from a to the field's end), month names JAN-DEC and day names SUN-SAT (case-insensitive), `?` as `*` in
 * the day fields, day-of-week 7 as Sunday. No `@every`/`@daily` descriptors: Vault's parser does not take them.
 *
 * Day matching follows cron (and robfig): when both day fields are restricted, a day matches if EITHER does;
 * when one is `*`, only the other counts. Times are evaluated in UTC (see README: Vault uses the server's zone).
 */
export interface CronSchedule {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday. */
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether the field was `*` or `?` (matters for the day-of-month / day-of-week OR rule). */
  readonly domStar: boolean;
  readonly dowStar: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** First index `names` maps to (months start at 1). */
  namesBase?: number;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesBase: 1 },
  // 7 is accepted as Sunday and folded onto 0 after parsing.
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesBase: 0 },
];

function fail(problem: string): never {
  throw invalid(`could not parse rotation_schedule: ${problem}`);
}

function parseValue(text: string, spec: FieldSpec): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) fail(`${spec.name} value ${n} is outside ${spec.min}-${spec.max}`);
    return n;
  }
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index === -1) fail(`invalid ${spec.name} value "${text}"`);
  return index + (spec.namesBase ?? 0);
}

/** Parses one field into its set of values and whether it was a bare `*` / `?`. */
function parseField(text: string, spec: FieldSpec, allowQuestion: boolean): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    if (part === '') fail(`empty list item in ${spec.name}`);
    const [rangeText, stepText, ...extra] = part.split('/');
    if (extra.length > 0 || rangeText === undefined) fail(`invalid step in ${spec.name}`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) fail(`invalid step "${stepText}" in ${spec.name}`);
      step = Number(stepText);
    }
    let low: number;
    let high: number;
    if (rangeText === '*' || (allowQuestion && rangeText === '?')) {
      low = spec.min;
      high = spec.max;
      // A star without a step (or with step 1) leaves the field unrestricted for the day OR rule, as in robfig/cron.
      if (step === 1) star = true;
    } else if (rangeText.includes('-')) {
      const [a, b, ...more] = rangeText.split('-');
      if (more.length > 0 || a === undefined || b === undefined) fail(`invalid range "${rangeText}" in ${spec.name}`);
      low = parseValue(a, spec);
      high = parseValue(b, spec);
      if (low > high) fail(`range "${rangeText}" in ${spec.name} runs backwards`);
    } else {
      low = parseValue(rangeText, spec);
      // `a/n` means from a to the end of the field (robfig/cron).
      high = stepText === undefined ? low : spec.max;
    }
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return { values, star };
}

/** Parses a 5-field expression; throws `invalid` ("could not parse rotation_schedule: ...") naming the problem. */
export function parseCron(expression: string): CronSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '')
    fail(`expected exactly 5 fields, found ${fields[0] === '' ? 0 : fields.length}`);
  const parsed = FIELDS.map((spec, i) => parseField(fields[i] as string, spec, i === 2 || i === 4));
  const [minute, hour, dom, month, dow] = parsed as [
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
  ];
  if (dow.values.delete(7)) dow.values.add(0);
  return {
    source: expression.trim(),
    minutes: minute.values,
    hours: hour.values,
    daysOfMonth: dom.values,
    months: month.values,
    daysOfWeek: dow.values,
    domStar: dom.star,
    dowStar: dow.star,
  };
}

function dayMatches(s: CronSchedule, date: Date): boolean {
  const domOk = s.daysOfMonth.has(date.getUTCDate());
  const dowOk = s.daysOfWeek.has(date.getUTCDay());
  if (s.domStar || s.dowStar) return domOk && dowOk;
  return domOk || dowOk;
}

/** Whether the minute starting at `ms` (seconds ignored) is one the schedule fires in. */
export function cronMatches(s: CronSchedule, ms: number): boolean {
  const d = new Date(ms);
  return (
    s.minutes.has(d.getUTCMinutes()) &&
    s.hours.has(d.getUTCHours()) &&
    s.months.has(d.getUTCMonth() + 1) &&
    dayMatches(s, d)
  );
}

const MINUTE = 60_000;
/** A schedule such as "0 0 30 2 *" (February 30th) never fires; give up after this many years of searching. */
const SEARCH_YEARS = 5;

/**
 * The first firing time strictly after `afterMs` (epoch ms, at a whole minute), or null when the schedule never
 * fires within the next few years (an impossible date). Walks month, day, hour, then minute, skipping whole units
 * that cannot match, so it costs at most a few thousand steps.
 */
export function cronNext(s: CronSchedule, afterMs: number): number | null {
  const start = Math.floor(afterMs / MINUTE) * MINUTE + MINUTE;
  const d = new Date(start);
  const limitYear = d.getUTCFullYear() + SEARCH_YEARS;
  while (d.getUTCFullYear() <= limitYear) {
    if (!s.months.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(s, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!s.hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!s.minutes.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return d.getTime();
  }
  return null;
}
