import { z } from 'zod';
import { parseOptionalDuration } from '../shared/duration.js';
import { invalid } from '../shared/errors.js';

/**
 * Field declarations for backend paths: zod schemas with Vault's lenient coercions (framework.FieldData in Vault's
 * SDK): booleans as "true"/"1", integers as strings, durations as "1h30m" or seconds, lists as JSON arrays or comma
 * strings. One declaration validates and types a handler's input and documents the path (`?help=1`,
 * sys/internal/specs/openapi).
 *
 * Every builder accepts "absent": undefined and null (and '' for the non-string kinds) read as not given, as Vault's
 * FieldData does for zero values. Error messages name the field (`{field}` below is replaced by its dotted path) and
 * never echo the value: it may be a secret.
 */
export type FieldSet = Readonly<Record<string, z.ZodType>>;

/** The typed, validated input a FieldSet produces. */
export type FieldsInput<F extends FieldSet> = z.output<z.ZodObject<{ -readonly [K in keyof F]: F[K] }>>;

const BAD: unique symbol = Symbol('bad');
type Parsed<T> = T | undefined | typeof BAD;

/** Fields whose absence is an error; recorded so the OpenAPI generator can list them as required. */
const REQUIRED = new WeakSet<z.ZodType>();

export function isRequiredField(schema: z.ZodType): boolean {
  return REQUIRED.has(schema);
}

function lenient<T>(
  openapi: Record<string, unknown>,
  description: string,
  problem: string,
  parse: (value: unknown) => Parsed<T>,
): z.ZodOptional<z.ZodType<T | undefined, unknown>> {
  return optional(
    z.unknown().transform((value, ctx) => {
      const out = parse(value);
      if (out === BAD) {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      return out;
    }),
    { ...openapi, description },
  );
}

/** An absent key is simply not given (zod would otherwise insist on a value); the meta documents the field. */
function optional<T>(
  schema: z.ZodType<T | undefined, unknown>,
  meta: Record<string, unknown>,
): z.ZodOptional<z.ZodType<T | undefined, unknown>> {
  return schema.meta(meta).optional().meta(meta);
}

const absent = (value: unknown): boolean => value === undefined || value === null;
const blank = (value: unknown): boolean => absent(value) || value === '';

export function parseBool(value: unknown): Parsed<boolean> {
  if (blank(value)) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 1) return true;
  if (value === 'false' || value === '0' || value === 0) return false;
  return BAD;
}

export function parseInteger(value: unknown): Parsed<number> {
  if (blank(value)) return undefined;
  const n = typeof value === 'string' ? Number(value.trim() === '' ? NaN : value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : BAD;
}

export function parseSeconds(value: unknown): Parsed<number> {
  if (!absent(value) && typeof value !== 'string' && typeof value !== 'number') return BAD;
  try {
    return parseOptionalDuration(value as string | number | null | undefined);
  } catch {
    return BAD;
  }
}

/** Vault's comma-string slices: a JSON array of strings or "a, b,c"; items trimmed, empty items dropped. */
export function parseStringList(value: unknown): Parsed<string[]> {
  if (absent(value)) return undefined;
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return value.map((s) => s.trim()).filter((s) => s !== '');
  return BAD;
}

function parseString(value: unknown): Parsed<string> {
  if (absent(value)) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return BAD;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const f = {
  /** A string; numbers and booleans are taken in their text form (Vault's TypeString does the same). */
  string: (description: string) =>
    lenient({ type: 'string' }, description, 'field "{field}" must be a string', parseString),

  /** A string that must be given and not be empty. */
  requiredString(description: string): z.ZodType<string, unknown> {
    const schema = z
      .unknown()
      .transform((value, ctx) => {
        const out = parseString(value);
        if (out === BAD) ctx.addIssue({ code: 'custom', message: 'field "{field}" must be a string' });
        else if (out === undefined || out === '')
          ctx.addIssue({ code: 'custom', message: 'missing required field "{field}"' });
        else return out;
        return z.NEVER;
      })
      .meta({ type: 'string', description });
    REQUIRED.add(schema);
    return schema;
  },

  /** true/false, "true"/"false", "1"/"0", 1/0. */
  bool: (description: string) =>
    lenient({ type: 'boolean' }, description, 'field "{field}" must be a boolean', parseBool),

  /** A safe integer, as a number or a numeric string; `min: 0` refuses negatives, `min: 1` asks for a positive one. */
  int(description: string, options: { min?: 0 | 1 } = {}) {
    const problem = 'field "{field}" must be an integer';
    return optional(
      z.unknown().transform((value, ctx) => {
        const n = parseInteger(value);
        if (n === BAD) ctx.addIssue({ code: 'custom', message: problem });
        else if (n !== undefined && options.min === 0 && n < 0)
          ctx.addIssue({ code: 'custom', message: 'field "{field}" must not be negative' });
        else if (n !== undefined && options.min === 1 && n < 1)
          ctx.addIssue({ code: 'custom', message: 'field "{field}" must be a positive integer' });
        else return n;
        return z.NEVER;
      }),
      { type: 'integer', ...(options.min !== undefined ? { minimum: options.min } : {}), description },
    );
  },

  /** Seconds, from "1h30m", "90s", "7d" or a bare number of seconds (number or string). Documented as Vault does. */
  duration: (description: string) =>
    lenient(
      { type: 'string', format: 'duration' },
      description,
      'field "{field}" must be a duration such as "1h" or a number of seconds',
      parseSeconds,
    ),

  /** A JSON array of strings or a comma-separated string. */
  stringList: (description: string) =>
    lenient(
      { type: 'array', items: { type: 'string' } },
      description,
      'field "{field}" must be a list of strings',
      parseStringList,
    ),

  /** An object whose values are strings (Vault's TypeKVPairs: metadata, custom_metadata). */
  stringMap: (description: string) =>
    lenient(
      { type: 'object', additionalProperties: { type: 'string' } },
      description,
      'field "{field}" must be an object of strings',
      (value) => {
        if (absent(value)) return undefined;
        if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) return BAD;
        return value as Record<string, string>;
      },
    ),

  /** Any JSON object (Vault's TypeMap). */
  object: (description: string) =>
    lenient(
      { type: 'object', additionalProperties: true },
      description,
      'field "{field}" must be a JSON object',
      (value) => {
        if (absent(value)) return undefined;
        return isPlainObject(value) ? value : BAD;
      },
    ),

  /** A JSON object with declared fields of its own (undeclared keys are ignored, as at the top level). */
  struct<S extends Record<string, z.ZodType>>(description: string, shape: S) {
    return z
      .preprocess((value) => (value === null ? undefined : value), z.object(shape).optional())
      .meta({ description });
  },

  /** One of a fixed set of strings. */
  enum<const V extends readonly [string, ...string[]]>(values: V, description: string) {
    return lenient(
      { type: 'string', enum: [...values] },
      description,
      `field "{field}" must be one of ${values.join(', ')}`,
      (value) => {
        if (blank(value)) return undefined;
        return typeof value === 'string' && (values as readonly string[]).includes(value) ? (value as V[number]) : BAD;
      },
    );
  },

  /** Base64 bytes, decoded by the handler (whose decoder names the field in its own errors). */
  base64: (description: string) =>
    z
      .unknown()
      .meta({ type: 'string', format: 'byte', description })
      .optional()
      .meta({ type: 'string', format: 'byte', description }),

  /** Anything JSON (a value the handler interprets itself, such as a batch item list or a free-form secret). */
  any: (description: string) => z.unknown().meta({ description }).optional().meta({ description }),
};

const compiled = new WeakMap<FieldSet, z.ZodType<Record<string, unknown>>>();

/**
 * Validates `data` against `fields` and returns the typed input: declared fields only (undeclared keys are ignored,
 * as Vault ignores unrecognized parameters; the raw data stays available to handlers that take free-form input).
 * Throws StrongroomError('invalid') naming the first field at fault.
 */
export function parseFields<F extends FieldSet>(fields: F, data: Record<string, unknown>): FieldsInput<F> {
  let schema = compiled.get(fields);
  if (!schema) {
    schema = z.object({ ...fields }) as unknown as z.ZodType<Record<string, unknown>>;
    compiled.set(fields, schema);
  }
  const result = schema.safeParse(data);
  if (result.success) return result.data as FieldsInput<F>;
  throw invalid(issueMessage(result.error.issues[0]));
}

function issueMessage(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid request';
  const field = issue.path.map(String).join('.');
  if (issue.code === 'custom') return issue.message.replaceAll('{field}', field);
  // zod's own checks (a nested struct's shape): worded here, so no message can carry the input.
  if (issue.code === 'invalid_type' && issue.expected === 'object') return `field "${field}" must be a JSON object`;
  return `field "${field}" is invalid`;
}
