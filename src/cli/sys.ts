import { readFileSync } from 'node:fs';
import type { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { keyFileUnsealHelp } from '../crypto/keyfile.js';
import { ApiError, type Client } from './client.js';
import { act, group, leaf, oneLineErrors, type Context } from './command.js';
import { cliProgress } from './deferred-modules.js';
import { CliError, UsageError } from './errors.js';
import { chompOne, parsePositiveInt, promptHidden, readStdinOnce } from './input.js';
import { colors, emit, keyValueTable } from './output.js';

/*
 * `strongroom status` and the store lifecycle under `strongroom operator`: init, unseal, seal, rotate, rewrap.
 *
 * Script output shapes:
 *   status, unseal  Vault's seal-status object {type, initialized, sealed, t, n, progress, version, ...}
 *   init            {keys: [hex], keys_base64: [...], root_token}  (shown once: store them safely)
 *   seal            {sealed: true}
 *   rotate          {term}
 *   rewrap          {rewrapped, term}
 */
export function registerStatus(program: Command): void {
  leaf(program, 'status', 'Show whether the store is initialized and sealed (exit 2 when sealed, as vault)', [
    'strongroom status',
    'strongroom status -o json',
  ]).action(
    act(async (ctx) => {
      const status = (await ctx.client().request('GET', 'sys/seal-status', { token: '' })).body ?? {};
      emit(ctx.format, status, () => sealTable(status, ctx.client().address));
      // As `vault status`: 2 tells a script "sealed" without parsing output.
      if (status.sealed) process.exitCode = 2;
    }),
  );
  const status = program.commands.find((c) => c.name() === 'status');
  if (status) oneLineErrors(status);
}

/**
 * The `operator` group is shared with the Kubernetes operator command (src/cli/operator.ts): whichever file
 * registers first creates it, the other adds its subcommands.
 */
export function registerOperatorLifecycle(program: Command): void {
  const operator = group(program, 'operator', 'Store lifecycle (init, unseal, seal, rotate, rewrap)');

  leaf(operator, 'init', 'Initialize a new store with Shamir unseal keys; prints the keys and the root token once', [
    'strongroom operator init --key-shares=5 --key-threshold=3',
    'strongroom operator init -o json > init.json   # keep this file offline',
  ])
    .option('--key-shares <n>', 'number of unseal key shares', '5')
    .option('--key-threshold <n>', 'shares needed to unseal', '3')
    .option('--recovery-shares <n>', 'transit seal: number of recovery key shares', '5')
    .option('--recovery-threshold <n>', 'transit seal: recovery shares needed (seal migration)', '3')
    .action(
      act(async (ctx) => {
        const shares = parsePositiveInt(String(ctx.opts.keyShares), '--key-shares');
        const threshold = parsePositiveInt(String(ctx.opts.keyThreshold), '--key-threshold');
        if (threshold > shares)
          throw new UsageError(
            `--key-threshold (${threshold}) cannot exceed --key-shares (${shares})`,
            `--key-threshold=${shares}`,
          );
        const res =
          (
            await ctx.client().request('POST', 'sys/init', {
              body: {
                secret_shares: shares,
                secret_threshold: threshold,
                recovery_shares: parsePositiveInt(String(ctx.opts.recoveryShares), '--recovery-shares'),
                recovery_threshold: parsePositiveInt(String(ctx.opts.recoveryThreshold), '--recovery-threshold'),
              },
              token: '',
            })
          ).body ?? {};
        emit(ctx.format, res, () => {
          const keys = (res.keys_base64 ?? []) as string[];
          const recovery = (res.recovery_keys_base64 ?? []) as string[];
          if (recovery.length > 0) {
            // A transit seal (auto-unseal): the unsealer holds the unseal key; recovery keys authorize a seal migration.
            return [
              ...recovery.map((k, i) => `Recovery Key ${i + 1}: ${k}`),
              '',
              `Initial Root Token: ${res.root_token}`,
              '',
              'Strongroom initialized with a transit seal: it is unsealed, and unseals itself through the unsealer after',
              'every restart. The recovery keys cannot unseal it; keep them to migrate back to Shamir keys.',
            ].join('\n');
          }
          return [
            ...keys.map((k, i) => `Unseal Key ${i + 1}: ${k}`),
            '',
            `Initial Root Token: ${res.root_token}`,
            '',
            `Strongroom initialized with ${shares} key shares and a key threshold of ${threshold}. The store is still`,
            `sealed: run 'strongroom operator unseal' with ${threshold} different keys to unseal it, now and after every`,
            'restart. Give each share to a different person. Revoke the root token once you have created the tokens and',
            'policies you need.',
          ].join('\n');
        });
      }),
    );

  leaf(
    operator,
    'unseal',
    "Submit one unseal key share, or a key-file store's key (prompted without echo, or from stdin with -)",
    [
      'strongroom operator unseal              # prompts for the key',
      'strongroom operator unseal - < share.txt',
      'strongroom operator unseal --reset      # discard shares submitted so far',
      'strongroom operator unseal --key-file=.strongroom/dev-unseal.key   # a key-file (dev) store sealed through the API',
    ],
  )
    .argument('[key]', 'the share (hex or base64); - reads it from stdin; omit to be prompted')
    .option('--reset', 'discard the key shares submitted so far')
    .option('--key-file <path>', "a key-file store: send this file's key (the store's own dev-unseal.key)")
    .option('--migrate', 'seal migration: the key counts towards migrating to the configured seal')
    .action(
      act(async (ctx, [keyArg]) => {
        let body: Record<string, unknown>;
        if (ctx.opts.reset) body = { reset: true };
        else {
          if (ctx.opts.keyFile !== undefined && keyArg !== undefined) {
            throw new UsageError(
              'give either a key or --key-file, not both',
              `'strongroom operator unseal --key-file=${String(ctx.opts.keyFile)}'`,
            );
          }
          const key =
            ctx.opts.keyFile !== undefined
              ? readKeyFileArg(String(ctx.opts.keyFile))
              : await unsealKey(keyArg as string | undefined, () => sealType(ctx));
          if (!key) throw new UsageError('no unseal key given', "'strongroom operator unseal -' with the key on stdin");
          body = ctx.opts.migrate ? { key, migrate: true } : { key };
        }
        const status = (await ctx.client().request('POST', 'sys/unseal', { body, token: '' })).body ?? {};
        emit(ctx.format, status, () => sealTable(status, ctx.client().address));
      }),
    );

  leaf(operator, 'seal', 'Seal the store: it forgets its keys and answers 503 until unsealed (needs sudo)', [
    'strongroom operator seal',
  ]).action(
    act(async (ctx) => {
      await ctx.client().request('PUT', 'sys/seal');
      emit(
        ctx.format,
        { sealed: true },
        () => `${colors.green('Success!')} the store at ${ctx.client().address} is sealed`,
      );
    }),
  );

  leaf(operator, 'rotate', 'Add a new encryption key term: new writes use it, older terms still decrypt', [
    'strongroom operator rotate',
  ]).action(
    act(async (ctx) => {
      await ctx.client().request('PUT', 'sys/rotate');
      const term = (await ctx.client().read('sys/key-status'))?.data?.term;
      emit(
        ctx.format,
        { term },
        () =>
          `${colors.green('Success!')} rotated the encryption key; new writes use term ${term}. Run 'strongroom operator rewrap' to move old records forward.`,
      );
    }),
  );

  leaf(operator, 'rewrap', 'Re-encrypt every record under the newest key term (after rotate)', [
    'strongroom operator rewrap',
  ]).action(act(async (ctx) => rewrap(ctx)));

  oneLineErrors(operator);
}

async function unsealKey(arg: string | undefined, type: () => Promise<string | undefined>): Promise<string> {
  if (arg === '-') return chompOne(await readStdinOnce('the unseal key')).trim();
  if (arg !== undefined) return arg.trim();
  // A key-file store takes the file's one line, not a share: say so in the prompt.
  const prompt =
    (await type()) === 'keyfile'
      ? "Key file contents (the base64 line of the store's key file; will be hidden): "
      : 'Unseal key (will be hidden): ';
  return promptHidden(prompt);
}

async function sealType(ctx: Context): Promise<string | undefined> {
  const status = (await ctx.client().request('GET', 'sys/seal-status', { token: '' })).body ?? {};
  return typeof status.type === 'string' ? status.type : undefined;
}

/** The key file as the server wrote it (one base64 line); the server checks it, the CLI only reads it. */
function readKeyFileArg(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`cannot read key file ${path} (${code})`, "the dev-unseal.key in the server's data directory");
  }
}

function sealTable(status: Record<string, unknown>, address: string): string {
  const sealed = status.sealed === true;
  const table = keyValueTable([
    ['Address', address],
    ['Seal Type', status.type],
    ['Initialized', status.initialized],
    ['Sealed', sealed ? colors.red('true') : colors.green('false')],
    ['Total Shares', status.n],
    ['Threshold', status.t],
    ...(sealed ? ([['Unseal Progress', `${status.progress}/${status.t}`]] as Array<[string, unknown]>) : []),
    ...(status.migration === true ? ([['Seal Migration in Progress', true]] as Array<[string, unknown]>) : []),
    ...(status.recovery_seal === true ? ([['Recovery Seal', true]] as Array<[string, unknown]>) : []),
    ['Version', status.version],
    ['Storage Type', status.storage_type],
  ]);
  // A key-file (dev) store sealed through the API: nobody holds shares, so say what does unseal it. The server's
  // 503s name the file's path; seal-status keeps Vault's shape, so here the path is the data directory's.
  if (sealed && status.initialized === true && status.type === 'keyfile') {
    return `${table}\n\n${capitalized(keyFileUnsealHelp("<the server's data directory>/dev-unseal.key"))}.`;
  }
  return table;
}

const capitalized = (line: string) => line.charAt(0).toUpperCase() + line.slice(1);

/**
 * sys/rewrap answers when the whole rewrap is done. On a terminal the CLI shows a progress bar fed by
 * sys/rewrap/status (done/total) when the server offers it, and an elapsed-time bar otherwise.
 */
async function rewrap(ctx: Context): Promise<void> {
  const client = ctx.client();
  const interactive = process.stderr.isTTY === true && ctx.format === 'table';
  const bar = interactive
    ? new (cliProgress().SingleBar)({
        format: 'Rewrapping {bar} {value}/{total} records | {duration}s',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      })
    : null;
  let finished = false;
  const poll = bar ? pollProgress(client, bar, () => finished) : Promise.resolve();
  try {
    const res = (await client.write('sys/rewrap'))?.data ?? {};
    finished = true;
    await poll;
    bar?.stop();
    emit(
      ctx.format,
      { rewrapped: res.rewrapped, term: res.term },
      () => `${colors.green('Success!')} rewrapped ${res.rewrapped} records to key term ${res.term}`,
    );
  } catch (err) {
    finished = true;
    bar?.stop();
    throw err;
  }
}

async function pollProgress(client: Client, bar: SingleBar, isFinished: () => boolean): Promise<void> {
  bar.start(1, 0);
  let supported = true;
  while (!isFinished()) {
    await new Promise((r) => setTimeout(r, 200));
    if (!supported || isFinished()) continue;
    try {
      const status = (await client.read('sys/rewrap/status'))?.data;
      if (typeof status?.total === 'number' && typeof status?.done === 'number') {
        bar.setTotal(Math.max(status.total, 1));
        bar.update(status.done);
      }
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) supported = false;
      else throw err instanceof ApiError ? new CliError(err.message) : err;
    }
  }
}
