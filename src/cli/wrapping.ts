import type { Command } from 'commander';
import { wrapInfoOf, type WrapInfo } from '../client/index.js';
import { formatDuration } from '../shared/duration.js';
import { ApiError } from './client.js';
import { act, leaf, oneLineErrors, type Context } from './command.js';
import { CliError, UsageError } from './errors.js';
import { chompOne, readStdinOnce } from './input.js';
import { colors, emit, keyValueTable, rawField } from './output.js';

/*
 * Response wrapping in the CLI: `--wrap-ttl` on the commands that read something worth handing over (kv get,
 * token create), and `strongroom unwrap`, as `vault unwrap`.
 *
 * Script output shapes:
 *   any command with --wrap-ttl   Vault's wrap_info {token, accessor, ttl, creation_time, creation_path, wrapped_accessor?}
 *   unwrap                        the wrapped answer's data (a KV v2 read: {data, metadata}, as kv get -o json), or its
 *                                 auth block for a wrapped token (as token create)
 */

/** `vault`'s table names for wrap_info, accepted by --field as well as wrap_info's own. */
const WRAP_ROWS: Array<[string, keyof WrapInfo]> = [
  ['wrapping_token', 'token'],
  ['wrapping_accessor', 'accessor'],
  ['wrapping_token_ttl', 'ttl'],
  ['wrapping_token_creation_time', 'creation_time'],
  ['wrapping_token_creation_path', 'creation_path'],
  ['wrapped_accessor', 'wrapped_accessor'],
];

/**
 * Prints the wrap_info of an answer asked for with --wrap-ttl. An answer without one is an error, never printed:
 * the caller asked for the data to stay sealed (the server already refuses what it cannot wrap; this is the second lock).
 */
export function emitWrapInfo(ctx: Context, body: unknown): void {
  const info = wrapInfoOf(body);
  if (!info)
    throw new CliError(
      'the server answered without wrapping the response',
      "'strongroom status' to check which server you are talking to",
    );
  if (ctx.opts.field !== undefined) {
    const field = String(ctx.opts.field);
    const key = WRAP_ROWS.find(([alias]) => alias === field)?.[1] ?? (field as keyof WrapInfo);
    if (info[key] === undefined)
      throw new UsageError(
        `no field "${field}" in wrap_info`,
        '--field=token (the wrapping token) or --field=accessor',
      );
    rawField(info[key]);
    return;
  }
  emit(ctx.format, info, () =>
    keyValueTable(
      WRAP_ROWS.filter(([, key]) => info[key] !== undefined).map(([name, key]) => [
        name,
        key === 'ttl' ? formatDuration(info.ttl) : info[key],
      ]),
    ),
  );
}

export function registerUnwrap(program: Command): void {
  const unwrap = leaf(
    program,
    'unwrap',
    'Unwrap a response-wrapping token once: prints what was wrapped (the token is then spent)',
    [
      'strongroom unwrap - < wrapping-token.txt',
      'STRONGROOM_TOKEN=$WRAPPING_TOKEN strongroom unwrap     # the current token is the wrapping token',
      'strongroom unwrap --field=password - < wrapping-token.txt',
    ],
  )
    .argument(
      '[token]',
      'the wrapping token (- reads stdin); omit to unwrap the current token (--token, STRONGROOM_TOKEN, login)',
    )
    .option('--field <key>', "print only this key's value, raw (for scripts)")
    .action(
      act(async (ctx, [arg]) => {
        let given = arg as string | undefined;
        if (given === '-') given = chompOne(await readStdinOnce('the wrapping token')).trim();
        if (given === '')
          throw new UsageError('the wrapping token is empty', "'strongroom unwrap -' with the token on stdin");
        if (given === undefined && !ctx.client().hasToken) {
          throw new UsageError(
            'which wrapping token?',
            "'strongroom unwrap TOKEN', 'strongroom unwrap -' with it on stdin, or STRONGROOM_TOKEN=TOKEN",
          );
        }
        let body;
        try {
          body = await ctx.client().unwrap(given);
        } catch (err) {
          // Vault answers 400 for a token that is unknown, expired or already unwrapped; which one is not disclosed.
          if (
            err instanceof ApiError &&
            err.status === 400 &&
            err.errors.some((e) => /wrapping token is not valid/.test(e))
          ) {
            throw new CliError(
              'the wrapping token is not valid or does not exist (already unwrapped, expired or revoked)',
              'asking its sender for a new one: a wrapping token unwraps once',
            );
          }
          throw err;
        }
        printUnwrapped(ctx, body ?? {});
      }),
    );
  oneLineErrors(unwrap);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function printUnwrapped(ctx: Context, body: Json): void {
  const data = isObject(body.data) ? body.data : undefined;
  const auth = isObject(body.auth) ? body.auth : undefined;
  // A KV v2 read wraps {data, metadata}: its keys are the secret's.
  const kv2 =
    data && isObject(data.data) && isObject(data.metadata) ? { data: data.data, metadata: data.metadata } : undefined;
  if (ctx.opts.field !== undefined) {
    const key = String(ctx.opts.field);
    const source = kv2?.data ?? data ?? auth ?? {};
    if (!(key in source))
      throw new CliError(
        `the unwrapped response has no key "${key}"`,
        "'strongroom unwrap' without --field to see its keys (this token is now spent)",
      );
    rawField(source[key]);
    return;
  }
  if (kv2) {
    emit(ctx.format, kv2, () =>
      [
        colors.bold('== Metadata =='),
        keyValueTable(Object.entries(kv2.metadata)),
        colors.bold('== Data =='),
        keyValueTable(Object.entries(kv2.data)),
      ].join('\n'),
    );
  } else if (data) {
    emit(ctx.format, data, () => keyValueTable(Object.entries(data)));
  } else if (auth) {
    emit(ctx.format, auth, () => keyValueTable(Object.entries(auth)));
  } else {
    emit(ctx.format, {}, () => 'The wrapped response was empty.');
  }
}
