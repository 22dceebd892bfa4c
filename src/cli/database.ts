import type { Command } from 'commander';
import { act, group, leaf, oneLineErrors, type Context } from './command.js';
import { CliError, UsageError } from './errors.js';
import { emit } from './output.js';
import { emitSecret } from './secret-output.js';

/*
 * `strongroom database …`: shorthands for the database engine's documented Vault paths under a mount (--mount,
 * default `database`). Each is one request; the output is Vault's (src/cli/secret-output.ts).
 *
 *   creds <role>              GET  <mount>/creds/<role>          a dynamic credential, with its lease rows
 *   static-creds <role>       GET  <mount>/static-creds/<role>   a static role's current credential
 *   rotate-root <connection>  POST <mount>/rotate-root/<connection>
 *   rotate-role <role>        POST <mount>/rotate-role/<role>
 *   reset <connection>        POST <mount>/reset/<connection>
 *
 * Script output (-o json): creds and static-creds print Vault's envelope (`jq -r .data.password`, `.lease_id`);
 * the rotations print {path}.
 */
export function registerDatabase(program: Command): void {
  const database = group(program, 'database', 'Database secrets engine shorthands: creds, rotate-root, rotate-role');

  for (const [name, what, segment, examples] of [
    [
      'creds',
      'Get a new dynamic credential for a role (a database user that lives as long as its lease)',
      'creds',
      [
        'strongroom database creds app',
        'strongroom database creds --field=password app',
        "strongroom database creds -o json app | jq -r '.lease_id'",
      ],
    ],
    [
      'static-creds',
      "Get a static role's current credential",
      'static-creds',
      ['strongroom database static-creds --mount=pg-prod billing'],
    ],
  ] as const) {
    const cmd = leaf(database, `${name} <role>`, what, [...examples])
      .option('--mount <path>', 'where the database engine is mounted', 'database')
      .option('--field <key>', "print only this field's value, raw (password, username, lease_id …)")
      .action(
        act(async (ctx, [role]) => {
          const path = `${mountOf(ctx)}/${segment}/${nameOf(role, 'role')}`;
          const body = await ctx.client().read(path);
          if (!body) throw new CliError(`No value found at ${path}`);
          emitSecret(ctx.format, body, ctx.opts.field === undefined ? undefined : String(ctx.opts.field));
        }),
      );
    oneLineErrors(cmd);
  }

  for (const [name, argument, segment, done, what] of [
    [
      'rotate-root',
      'connection',
      'rotate-root',
      'rotated the root credentials of connection',
      "Rotate a connection's root password (the engine sets a new one only it knows)",
    ],
    [
      'rotate-role',
      'role',
      'rotate-role',
      'rotated the credentials of static role',
      "Rotate a static role's password now, outside its schedule",
    ],
    ['reset', 'connection', 'reset', 'reset connection', 'Close and reopen a connection (after its config changed)'],
  ] as const) {
    const cmd = leaf(database, `${name} <${argument}>`, what, [
      `strongroom database ${name} ${argument === 'role' ? 'billing' : 'pg'}`,
    ])
      .option('--mount <path>', 'where the database engine is mounted', 'database')
      .action(
        act(async (ctx, [target]) => {
          const targetName = nameOf(target, argument);
          const path = `${mountOf(ctx)}/${segment}/${targetName}`;
          await ctx.client().write(path, {});
          emit(ctx.format, { path }, () => `Success! ${done} "${targetName}" (${path})`);
        }),
      );
    oneLineErrors(cmd);
  }
}

function mountOf(ctx: Context): string {
  const mount = String(ctx.opts.mount ?? 'database').replace(/^\/+|\/+$/g, '');
  if (mount === '') throw new UsageError('--mount is empty', '--mount=database');
  return mount;
}

function nameOf(value: unknown, what: string): string {
  const name = String(value ?? '');
  if (name === '' || name.includes('/'))
    throw new UsageError(`"${name}" is not a ${what} name`, `a ${what} name without '/'; --mount for the mount path`);
  return name;
}
