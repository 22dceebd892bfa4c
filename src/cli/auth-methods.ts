import type { Command } from 'commander';
import { act, group, leaf, oneLineErrors, type Context } from './command.js';
import { completeWith } from './completion.js';
import { UsageError } from './errors.js';
import { extractVaultFlags } from './input.js';
import { colors, emit, gridTable } from './output.js';
import { unknownOption } from './vault-flags.js';

/*
 * `strongroom auth enable|disable|list|tune`, as `vault auth …`: auth methods are mounts under auth/ (sys/auth). A
 * fresh store has only token/; approle and kubernetes are enabled first, at their name or any --path, as often as
 * needed (one kubernetes mount per cluster). `strongroom login --method=approle --path=<mount>` logs in at one.
 *
 * Script output shapes:
 *   enable    {path, type}
 *   disable   {path}
 *   tune      {path, description?, user_lockout_config?}
 *   list      Vault's map {"<path>/": {type, accessor, description, options, config, ...}}
 */

/** `vault auth tune`'s user lockout flags and the user_lockout_config fields they set. */
const LOCKOUT_FLAGS: Record<string, string> = {
  'user-lockout-threshold': 'lockout_threshold',
  'user-lockout-duration': 'lockout_duration',
  'user-lockout-counter-reset-duration': 'lockout_counter_reset',
  'user-lockout-disable': 'lockout_disable',
};

/** Auth method types completed after `auth enable`; the server decides which exist (its module registry). */
const KNOWN_TYPES = ['approle', 'kubernetes', 'userpass', 'jwt', 'oidc'];

export function registerAuthMethods(program: Command): void {
  const auth = group(
    program,
    'auth',
    'Enable, list, tune and disable auth methods (approle, kubernetes, userpass, jwt, oidc) at any path',
  );

  const enable = leaf(auth, 'enable', 'Enable an auth method at auth/<path>/ (default: its type)', [
    'strongroom auth enable approle',
    'strongroom auth enable --path=ci-approle --description="CI pipelines" approle',
    "strongroom auth enable -path=cluster-b kubernetes        # Vault's flag form works too",
  ])
    .argument('<type>', `auth method type (${KNOWN_TYPES.join(', ')})`)
    .option('--path <path>', 'where to mount it, below auth/ (default: the type)')
    .option('--description <text>', 'a note shown by auth list')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (ctx) => {
        const { flags, positional } = vaultFlags(ctx, ['path', 'description'], 'TYPE');
        const type = positional;
        const path = mountPath(flags.path ?? type, '--path');
        const body: Record<string, unknown> = { type };
        if (flags.description !== undefined) body.description = flags.description;
        await ctx.client().write(`sys/auth/${path}`, body);
        emit(
          ctx.format,
          { path: `${path}/`, type },
          () => `${colors.green('Success!')} Enabled ${type} auth method at: ${path}/`,
        );
      }),
    );
  completeWith(enable, KNOWN_TYPES);

  leaf(
    auth,
    'disable',
    'Disable the auth method at a path: its roles and configuration are deleted and its tokens revoked',
    ['strongroom auth disable ci-approle'],
  )
    .argument('<path>', 'the mount, below auth/ (ci-approle)')
    .action(
      act(async (ctx, [raw]) => {
        const path = mountPath(String(raw), 'PATH');
        await ctx.client().delete(`sys/auth/${path}`);
        emit(
          ctx.format,
          { path: `${path}/` },
          () => `${colors.green('Success!')} Disabled the auth method (if it existed) at: ${path}/`,
        );
      }),
    );

  leaf(auth, 'list', 'List the enabled auth methods: path, type, accessor, description', [
    'strongroom auth list',
    'strongroom auth list -o json',
  ]).action(
    act(async (ctx) => {
      const mounts = ((await ctx.client().read('sys/auth'))?.data ?? {}) as Record<string, Record<string, unknown>>;
      const rows = Object.entries(mounts).sort(([a], [b]) => a.localeCompare(b));
      emit(ctx.format, mounts, () =>
        gridTable(
          ['Path', 'Type', 'Accessor', 'Description'],
          rows.map(([path, m]) => [path, m.type, m.accessor, m.description]),
        ),
      );
    }),
  );

  leaf(auth, 'tune', "Change an auth method's settings (its description, user lockout)", [
    'strongroom auth tune --description="CI pipelines (cluster a)" ci-approle',
    'strongroom auth tune --user-lockout-threshold=3 --user-lockout-duration=30m userpass',
  ])
    .argument('<path>', 'the mount, below auth/')
    .option('--description <text>', 'the new description ("" clears it)')
    .option('--user-lockout-threshold <n>', 'failed logins before a user is locked (userpass; 0: the default, 5)')
    .option('--user-lockout-duration <duration>', 'how long a locked user stays locked (default 15m)')
    .option('--user-lockout-counter-reset-duration <duration>', 'quiet time after which failures are forgotten')
    .option('--user-lockout-disable <bool>', 'true turns user lockout off for the mount')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (ctx) => {
        const { flags, positional } = vaultFlags(ctx, ['description', ...Object.keys(LOCKOUT_FLAGS)], 'PATH');
        const path = mountPath(positional, 'PATH');
        const body: Record<string, unknown> = {};
        if (flags.description !== undefined) body.description = flags.description;
        const lockout: Record<string, string> = {};
        for (const [flag, field] of Object.entries(LOCKOUT_FLAGS)) {
          if (flags[flag] !== undefined) lockout[field] = flags[flag];
        }
        if (Object.keys(lockout).length > 0) body.user_lockout_config = lockout;
        if (Object.keys(body).length === 0)
          throw new UsageError('nothing to change', `'strongroom auth tune --description=TEXT ${path}'`);
        // Where `vault auth tune` writes: sys/mounts/auth/<path>/tune (no sudo needed, unlike sys/auth/<path>/tune).
        await ctx.client().write(`sys/mounts/auth/${path}/tune`, body);
        emit(
          ctx.format,
          { path: `${path}/`, ...body },
          () => `${colors.green('Success!')} Tuned the auth method at: ${path}/`,
        );
      }),
    );

  oneLineErrors(auth);
}

/**
 * `--path x` (commander) or Vault's `-path=x`: commander leaves an unknown flag, and every argument after it, in
 * command.args, so the one positional argument is taken from there too. Anything else that looks like a flag is a
 * usage error naming the flag, never its value.
 */
function vaultFlags(
  ctx: Context,
  names: string[],
  argument: string,
): { flags: Record<string, string | undefined>; positional: string } {
  const { flags, rest } = extractVaultFlags(ctx.command.args, names);
  const help = `'strongroom auth ${ctx.command.name()} --help'`;
  const unknown = rest.find((a) => a.startsWith('-'));
  if (unknown) throw unknownOption(unknown, names, help);
  if (rest.length !== 1)
    throw new UsageError(
      rest.length === 0 ? `missing ${argument}` : `expected one ${argument}, got ${rest.length} arguments`,
      help,
    );
  const out: Record<string, string | undefined> = {};
  for (const name of names) {
    // commander keeps `--user-lockout-duration` as userLockoutDuration.
    const value =
      flags[name] ?? ctx.opts[name] ?? ctx.opts[name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
    if (value === true) throw new UsageError(`-${name} needs a value`, `-${name}=VALUE`);
    out[name] = value === undefined ? undefined : String(value);
  }
  return { flags: out, positional: rest[0]! };
}

/** 'ci-approle', '/ci-approle/' → 'ci-approle'; the server checks the rest (characters, reserved paths). */
function mountPath(raw: string, what: string): string {
  const path = raw.trim().replace(/^\/+|\/+$/g, '');
  if (path === '') throw new UsageError(`${what} is empty`, 'a mount path such as ci-approle');
  return path;
}
