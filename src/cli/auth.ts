import type { Command } from 'commander';
import { ApiError } from './client.js';
import { act, group, leaf, oneLineErrors, type Context } from './command.js';
import { forgetToken, saveToken } from './connection.js';
import { CliError, UsageError } from './errors.js';
import {
  chompOne,
  extractVaultFlags,
  parseKeyValues,
  parsePositiveInt,
  parseWrapTtl,
  promptHidden,
  readStdinOnce,
} from './input.js';
import { colors, emit, keyValueTable, rawField } from './output.js';
import { withLoginMfa } from './login-mfa.js';
import { emitWrapInfo } from './wrapping.js';
import { unknownOption } from './vault-flags.js';
import { loginWithJwtFamily } from './login-oidc.js';
import { userpassLogin } from './login-userpass.js';

/*
 * `strongroom login` and `strongroom token …`.
 *
 * Script output shapes:
 *   login                {accessor, policies, lease_duration, renewable, token_file} (+ client_token with --no-store)
 *   token create --wrap-ttl  Vault's wrap_info {token, accessor, ttl, creation_time, creation_path, wrapped_accessor}
 *   token create, renew  Vault's auth block {client_token, accessor, policies, lease_duration, renewable, num_uses, orphan, ...}
 *   token lookup         Vault's lookup data {accessor, policies, ttl, expire_time, num_uses, display_name, ...}
 *   token revoke         {revoked: true}
 */
export function registerLogin(program: Command): void {
  const login = leaf(
    program,
    'login',
    'Authenticate and save the token for later commands (~/.strongroom/token, mode 0600)',
    [
      'strongroom login                                    # prompts for a token without echo',
      'strongroom login - < token.txt',
      'strongroom login --method=approle role_id=$ROLE_ID secret_id=@secret-id.txt',
      'strongroom login --method=approle --path=ci-approle role_id=$ROLE_ID secret_id=@secret-id.txt   # mounted at auth/ci-approle/',
      'strongroom login -method=kubernetes role=app jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token',
      'strongroom login --method=oidc role=people          # prints the URL to open; listens on localhost:8250',
      'strongroom login --method=jwt role=ci jwt=@$CI_OIDC_TOKEN_FILE',
      'strongroom login --method=userpass username=alice   # prompts for the password without echo',
      'strongroom login --method=userpass username=ci password=- < password.txt',
      'strongroom login --method=approle --mfa=corp-totp:123456 role_id=… secret_id=@…   # second factor in one step',
    ],
  )
    .argument('[args...]', 'a token (token method; - reads stdin), or key=value login parameters')
    .option('--method <name>', 'auth method: token (default), approle, kubernetes, userpass, oidc or jwt')
    .option('--path <mount>', 'where the auth method is mounted (default: its name)')
    .option('--no-store', 'print the token instead of saving it')
    .option('--mfa <method:passcode>', 'login MFA passcode sent with the login (else asked for when required)')
    .allowUnknownOption()
    .action(act(async (ctx, [args]) => loginAction(ctx, args as string[])));
  oneLineErrors(login);

  const logout = leaf(program, 'logout', 'Forget the token saved by login', ['strongroom logout'], {
    connect: false,
    output: false,
  }).action(
    act(async () => {
      const removed = forgetToken();
      process.stdout.write(removed ? 'Removed the saved token.\n' : 'No saved token.\n');
    }),
  );
  oneLineErrors(logout);
}

async function loginAction(ctx: Context, rawArgs: string[]): Promise<void> {
  const { flags, rest } = extractVaultFlags(rawArgs, ['method', 'path', 'no-store', 'mfa']);
  for (const arg of rest) {
    if (/^-[a-z-]+/.test(arg) && arg !== '-')
      throw unknownOption(arg, ['method', 'path', 'no-store', 'mfa'], "'strongroom login --help'");
  }
  const method = String(flags.method ?? ctx.opts.method ?? 'token');
  const store = flags['no-store'] === undefined && ctx.opts.store !== false;
  // Login MFA for every method: --mfa goes with the login, or a required second factor is asked for.
  const mfa = flags.mfa ?? ctx.opts.mfa;
  const client = withLoginMfa(ctx.client(), typeof mfa === 'string' ? { mfa } : {});
  let token: string;
  let auth: Record<string, unknown>;
  if (method === 'token') {
    if (rest.length > 1) throw new UsageError('login takes one token', "'strongroom login -' to read it from stdin");
    const arg = rest[0];
    token =
      arg === '-'
        ? chompOne(await readStdinOnce('the token')).trim()
        : arg !== undefined
          ? arg
          : await promptHidden('Token (will be hidden): ');
    if (!token) throw new UsageError('no token given', "'strongroom login -' with the token on stdin");
    try {
      const data = (await client.request('GET', 'auth/token/lookup-self', { token })).body?.data ?? {};
      auth = { accessor: data.accessor, policies: data.policies, lease_duration: data.ttl, renewable: data.renewable };
    } catch (err) {
      if (err instanceof ApiError && err.status === 403)
        throw new CliError(
          'the server rejected this token (invalid, expired or revoked)',
          'a current token, or another --method',
        );
      throw err;
    }
  } else if (method === 'approle' || method === 'kubernetes') {
    const params = await parseKeyValues(rest, { noun: 'login parameter' });
    const required = method === 'approle' ? ['role_id'] : ['role', 'jwt'];
    for (const key of required) {
      if (!params[key])
        throw new UsageError(
          `${method} login needs ${key}=…`,
          method === 'approle'
            ? 'role_id=ROLE_ID secret_id=@FILE'
            : 'role=NAME jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token',
        );
    }
    const mount = String(flags.path ?? ctx.opts.path ?? method).replace(/^\/+|\/+$/g, '');
    const res = await client.request('POST', `auth/${mount}/login`, { body: params, token: '' });
    auth = res.body?.auth ?? {};
    token = String(auth.client_token ?? '');
    if (!token) throw new CliError('the server answered the login without a token');
  } else if (method === 'oidc' || method === 'jwt') {
    const mountFlag = flags.path ?? ctx.opts.path;
    ({ token, auth } = await loginWithJwtFamily(
      client,
      method,
      rest,
      mountFlag === undefined ? undefined : String(mountFlag),
    ));
  } else if (method === 'userpass') {
    auth =
      (await userpassLogin(client, rest, String(flags.path ?? ctx.opts.path ?? method).replace(/^\/+|\/+$/g, '')))
        ?.auth ?? {};
    token = String(auth.client_token ?? '');
    if (!token) throw new CliError('the server answered the login without a token');
  } else {
    throw new UsageError(
      `unknown auth method "${method}"`,
      '--method=token, --method=approle, --method=kubernetes, --method=userpass, --method=oidc or --method=jwt',
    );
  }
  const view: Record<string, unknown> = {
    accessor: auth.accessor,
    policies: auth.policies ?? auth.token_policies,
    lease_duration: auth.lease_duration,
    renewable: auth.renewable,
  };
  if (store) view.token_file = saveToken(token);
  else view.client_token = token;
  emit(ctx.format, view, () =>
    [
      `${colors.green('Success!')} You are now authenticated${store ? ` (token saved to ${view.token_file})` : ''}.`,
      keyValueTable(Object.entries(view)),
    ].join('\n'),
  );
}

export function registerToken(program: Command): void {
  const token = group(program, 'token', 'Create, inspect, renew and revoke tokens');

  leaf(token, 'create', 'Create a token (a child of yours, or an orphan) with limited policies, lifetime and uses', [
    'strongroom token create --policy=app-read --ttl=1h --use-limit=10',
    'strongroom token create --policy=ci --orphan --period=24h -o json',
    'strongroom token create --policy=app-read --field=token',
    'strongroom token create --policy=app-read --wrap-ttl=10m --field=token   # hand it over wrapped (strongroom unwrap)',
  ])
    .option('--policy <name>', 'policy to attach (repeat for several)', collect, [])
    .option('--ttl <duration>', 'time to live (e.g. 30m, 1h)')
    .option('--explicit-max-ttl <duration>', 'hard limit across renewals')
    .option('--period <duration>', 'periodic token: renewable forever, each renewal resets the TTL to this')
    .option('--use-limit <n>', 'number of uses before the token is revoked')
    .option('--orphan', 'no parent: survives the revocation of your token (needs sudo)')
    .option('--no-default-policy', 'do not attach the default policy')
    .option('--display-name <name>', 'name shown in the audit log')
    .option('--field <name>', 'print only this field raw (token, accessor)')
    .option(
      '--wrap-ttl <duration>',
      'wrap the new token: print a single-use wrapping token instead (see strongroom unwrap)',
    )
    .action(
      act(async (ctx) => {
        const wrapTtl = ctx.opts.wrapTtl === undefined ? undefined : parseWrapTtl(String(ctx.opts.wrapTtl));
        const body: Record<string, unknown> = {};
        const policies = ctx.opts.policy as string[];
        if (policies.length) body.policies = policies.flatMap((p) => p.split(',')).filter(Boolean);
        if (ctx.opts.ttl) body.ttl = String(ctx.opts.ttl);
        if (ctx.opts.explicitMaxTtl) body.explicit_max_ttl = String(ctx.opts.explicitMaxTtl);
        if (ctx.opts.period) body.period = String(ctx.opts.period);
        if (ctx.opts.useLimit !== undefined) body.num_uses = parsePositiveInt(String(ctx.opts.useLimit), '--use-limit');
        if (ctx.opts.defaultPolicy === false) body.no_default_policy = true;
        if (ctx.opts.displayName) body.display_name = String(ctx.opts.displayName);
        const path = ctx.opts.orphan ? 'auth/token/create-orphan' : 'auth/token/create';
        if (wrapTtl !== undefined) return emitWrapInfo(ctx, await ctx.client().write(path, body, { wrapTtl }));
        const auth = (await ctx.client().write(path, body))?.auth ?? {};
        if (ctx.opts.field !== undefined) return printField(auth, String(ctx.opts.field));
        emit(ctx.format, auth, () => authTable(auth));
      }),
    );

  leaf(token, 'lookup', 'Show a token: yours (no argument), another (TOKEN or - for stdin) or by -accessor', [
    'strongroom token lookup',
    'strongroom token lookup --accessor 4f0c1e…',
    'strongroom token lookup - < token.txt',
  ])
    .argument('[token]', 'token to look up (- reads stdin); an accessor with --accessor')
    .option('--accessor', 'the argument is an accessor')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (ctx, [arg]) => {
        const { byAccessor, value } = await target(ctx, arg as string | undefined);
        let data;
        if (value === undefined) data = (await ctx.client().read('auth/token/lookup-self'))?.data;
        else if (byAccessor) data = (await ctx.client().write('auth/token/lookup-accessor', { accessor: value }))?.data;
        else data = (await ctx.client().write('auth/token/lookup', { token: value }))?.data;
        // Never echo a token back: the lookup's `id` is the token itself.
        const view = { ...(data ?? {}) };
        delete view.id;
        emit(ctx.format, view, () => keyValueTable(Object.entries(view)));
      }),
    );

  leaf(token, 'renew', 'Extend a token (yours by default) by its TTL or --increment', [
    'strongroom token renew',
    'strongroom token renew --increment=2h --accessor 4f0c1e…',
  ])
    .argument('[token]', 'token to renew (- reads stdin); an accessor with --accessor')
    .option('--accessor', 'the argument is an accessor')
    .option('--increment <duration>', 'requested extension (e.g. 1h)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (ctx, [arg]) => {
        const { byAccessor, value } = await target(ctx, arg as string | undefined);
        const increment = ctx.opts.increment ? { increment: String(ctx.opts.increment) } : {};
        let auth;
        if (value === undefined) auth = (await ctx.client().write('auth/token/renew-self', increment))?.auth;
        else if (byAccessor)
          auth = (await ctx.client().write('auth/token/renew-accessor', { accessor: value, ...increment }))?.auth;
        else auth = (await ctx.client().write('auth/token/renew', { token: value, ...increment }))?.auth;
        const view = { ...(auth ?? {}) };
        delete view.client_token;
        emit(ctx.format, view, () => authTable(view));
      }),
    );

  leaf(token, 'revoke', 'Revoke a token and its children (yours with --self)', [
    'strongroom token revoke --accessor 4f0c1e…',
    'strongroom token revoke - < token.txt',
    'strongroom token revoke --self',
  ])
    .argument('[token]', 'token to revoke (- reads stdin); an accessor with --accessor')
    .option('--accessor', 'the argument is an accessor')
    .option('--self', 'revoke the token this command uses')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      act(async (ctx, [arg]) => {
        if (ctx.opts.self) {
          await ctx.client().write('auth/token/revoke-self');
        } else {
          const { byAccessor, value } = await target(ctx, arg as string | undefined);
          if (value === undefined)
            throw new UsageError('which token?', 'a TOKEN argument, - for stdin, --accessor ACCESSOR or --self');
          if (byAccessor) await ctx.client().write('auth/token/revoke-accessor', { accessor: value });
          else await ctx.client().write('auth/token/revoke', { token: value });
        }
        emit(ctx.format, { revoked: true }, () => `${colors.green('Success!')} revoked the token and its children`);
      }),
    );

  oneLineErrors(token);
}

/** The token or accessor a command acts on; Vault's `-accessor` single-dash flag is accepted too. */
async function target(
  ctx: Context,
  _arg: string | undefined,
): Promise<{ byAccessor: boolean; value: string | undefined }> {
  const { flags, rest } = extractVaultFlags(ctx.command.args, ['accessor', 'increment', 'self']);
  if (typeof flags.increment === 'string') ctx.opts.increment = flags.increment;
  if (flags.self) ctx.opts.self = true;
  const positional = rest.filter((a) => a === '-' || !a.startsWith('-'));
  const unknown = rest.find((a) => a !== '-' && a.startsWith('-'));
  if (unknown)
    throw unknownOption(
      unknown,
      ['accessor', 'increment', 'self'],
      `'${ctx.command.parent?.name()} ${ctx.command.name()} --help'`,
    );
  const byAccessor = ctx.opts.accessor === true || flags.accessor !== undefined;
  const raw = positional[0] ?? (typeof flags.accessor === 'string' ? flags.accessor : undefined);
  if (positional.length > 1) throw new UsageError('too many arguments', 'one TOKEN (or - for stdin)');
  if (raw === '-') return { byAccessor, value: chompOne(await readStdinOnce('the token')).trim() };
  return { byAccessor, value: raw };
}

function authTable(auth: Record<string, unknown>): string {
  const rows: Array<[string, unknown]> = [];
  if (auth.client_token) rows.push(['token', auth.client_token]);
  rows.push(
    ['token_accessor', auth.accessor],
    [
      'token_duration',
      typeof auth.lease_duration === 'number'
        ? auth.lease_duration === 0
          ? '∞'
          : `${auth.lease_duration}s`
        : auth.lease_duration,
    ],
    ['token_renewable', auth.renewable],
    ['token_policies', auth.token_policies ?? auth.policies],
    ['token_num_uses', auth.num_uses],
    ['token_orphan', auth.orphan],
  );
  return keyValueTable(rows);
}

function printField(auth: Record<string, unknown>, field: string): void {
  const aliases: Record<string, string> = {
    token: 'client_token',
    token_accessor: 'accessor',
    token_policies: 'policies',
  };
  const key = aliases[field] ?? field;
  if (!(key in auth)) throw new UsageError(`no field "${field}" in the answer`, '--field=token or --field=accessor');
  rawField(auth[key]);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
