import { Option, type Command } from 'commander';
import { ApiError, type Client } from './client.js';
import { act, leaf, oneLineErrors, type Context } from './command.js';
import { cliProgress, yaml } from './deferred-modules.js';
import { CliError, UsageError } from './errors.js';
import { baseName, formatOf, parseDocuments, parseDotenv, toDotenv, type ImportedSecret } from './formats.js';
import { readFileArg } from './input.js';
import {
  NoMountError,
  listPath,
  locationIn,
  resolveKvPath,
  valueOf,
  valuePath,
  writeBody,
  type KvLocation,
} from './kv-paths.js';
import { colors, emit, gridTable, plainFormat } from './output.js';

/*
 * `strongroom import` and `strongroom export`.
 *
 * import -o json: {dry_run, secrets: [{path, status: new|changed|unchanged, added: [], changed: [], removed: [],
 *                 unchanged: [], version?}]} — key names only, never values.
 * export --format (or -o) json|yaml: {"<path>": {key: value}}; env: KEY=value lines, one `# <path>` block per secret.
 *
 * Where imported secrets land: --prefix + name. The name is the file's name for a single secret (app.env → app),
 * the key for an export map (secret/app/db), and <namespace>/<name> for a Kubernetes Secret (just <name> when it has
 * no namespace). Without --prefix, a name that starts with a KV mount is used as it is, any other goes under
 * secret/ (DEFAULT_PREFIX). Documents that are not Secrets are skipped with a warning naming them.
 */
export function registerTransfer(program: Command): void {
  const imp = leaf(program, 'import', 'Import secrets from .env, JSON, YAML or Kubernetes Secret manifests', [
    'strongroom import app.env                                   # → secret/app (the default location)',
    'strongroom import --prefix=secret/app/ --dry-run app.env',
    'strongroom import --prefix=secret/prod/ secrets.yaml        # kind: Secret manifests → secret/prod/<namespace>/<name>',
    'strongroom export secret/app/ --format=json > backup.json && strongroom import backup.json',
  ])
    .argument('<file>', 'file to import (- reads stdin; then --format is required)')
    .option(
      '--prefix <path>',
      `prepended to every secret name (e.g. secret/app/); without it, a name that does not start with a KV mount goes under ${DEFAULT_PREFIX}`,
    )
    .option('--name <name>', 'secret name for single-secret files (default: the file name without extension)')
    .option('--format <format>', 'env, json or yaml (default: from the file extension)')
    .option('--dry-run', 'show what would change (new / changed keys / unchanged), write nothing');
  imp.action(act(async (ctx, [file]) => importAction(ctx, file as string)));
  oneLineErrors(imp);

  const exp = leaf(
    program,
    'export',
    'Export secrets (a secret or a whole folder, recursively) as env, JSON or YAML',
    ['strongroom export secret/app/db --format=env > db.env', 'strongroom export secret/app/ --format=yaml > app.yaml'],
    { output: false },
  )
    .argument('<paths...>', 'secret paths or folders (ending in /)')
    .option('--format <format>', 'env, json or yaml (default json)')
    .addOption(new Option('-o, --output <format>', 'the same as --format').choices(['env', 'json', 'yaml']));
  exp.action(act(async (ctx, [paths]) => exportAction(ctx, paths as string[])));
  oneLineErrors(exp);
}

interface Plan {
  path: string;
  status: 'new' | 'changed' | 'unchanged';
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  version?: number;
}

async function importAction(ctx: Context, file: string): Promise<void> {
  if (file === '-' && !ctx.opts.format)
    throw new UsageError('importing from stdin needs --format', '--format=env, json or yaml');
  const format = formatOf(file, ctx.opts.format as string | undefined);
  const text = await readFileArg(file, 'the import file');
  let secrets: ImportedSecret[];
  if (format === 'env') {
    const name = (ctx.opts.name as string | undefined) ?? baseName(file);
    if (!name) throw new UsageError(`cannot name the secret from the file name ${file}`, '--name=NAME');
    secrets = [{ path: name, data: parseDotenv(text, file), source: file }];
  } else {
    secrets = parseDocuments(text, format, file, (what) => process.stderr.write(`Warning: skipped ${what}\n`));
    if (ctx.opts.name !== undefined) {
      if (secrets.length !== 1)
        throw new UsageError('--name applies only to a file with one secret', 'names inside the file');
      secrets[0]!.path = String(ctx.opts.name);
    }
  }
  if (secrets.length === 0) throw new UsageError(`${file} holds no secrets`);
  const client = ctx.client();
  const prefix = ctx.opts.prefix === undefined ? undefined : String(ctx.opts.prefix);
  const seen = new Set<string>();
  const locations = new Map<string, KvLocation>();
  for (const s of secrets) {
    const loc =
      prefix === undefined ? await locateWithoutPrefix(client, s) : await locate(client, joinPath(prefix, s.path));
    s.path = loc.display;
    if (seen.has(s.path))
      throw new UsageError(`${s.source}: ${s.path} appears twice in the import`, 'one document per secret');
    seen.add(s.path);
    locations.set(s.path, loc);
  }

  const dryRun = ctx.opts.dryRun === true;
  const bar =
    process.stderr.isTTY && !dryRun && secrets.length > 1
      ? new (cliProgress().SingleBar)({
          format: 'Importing {bar} {value}/{total} secrets',
          stream: process.stderr,
          clearOnComplete: true,
        })
      : null;
  bar?.start(secrets.length, 0);
  const plans: Plan[] = [];
  try {
    for (const s of secrets) {
      const loc = locations.get(s.path)!;
      const plan = planFor(s.path, await currentData(client, loc), s.data);
      if (!dryRun && plan.status !== 'unchanged') {
        const res = await client.write(valuePath(loc), writeBody(loc, s.data));
        plan.version = res?.data?.version;
      }
      plans.push(plan);
      bar?.increment();
    }
  } finally {
    bar?.stop();
  }
  // A plan over many secrets (no Vault counterpart): its own JSON under -format=json too.
  emit(plainFormat(ctx.format), { dry_run: dryRun, secrets: plans }, () => {
    const counts = (st: Plan['status']) => plans.filter((p) => p.status === st).length;
    const table = gridTable(
      ['Path', 'Status', 'Keys added', 'Keys changed', 'Keys removed', 'Unchanged'],
      plans.map((p) => [
        p.path,
        statusCell(p.status),
        list(p.added),
        list(p.changed),
        list(p.removed),
        p.unchanged.length,
      ]),
    );
    const verb = dryRun ? 'would write' : 'wrote';
    return `${table}\n${dryRun ? colors.yellow('Dry run: nothing written. ') : `${colors.green('Success!')} `}${verb} ${counts('new')} new and ${counts('changed')} changed secrets; ${counts('unchanged')} unchanged.`;
  });
}

function statusCell(status: Plan['status']): string {
  return status === 'new'
    ? colors.green('new')
    : status === 'changed'
      ? colors.yellow('changed')
      : colors.dim('unchanged');
}

function list(keys: string[]): string {
  return keys.length ? keys.join(', ') : '-';
}

function joinPath(prefix: string, path: string): string {
  if (!prefix) return path.replace(/^\/+/, '');
  return `${prefix.replace(/\/*$/, '/')}${path.replace(/^\/+/, '')}`.replace(/^\/+/, '');
}

/**
 * Where a secret goes without --prefix: a path that starts with a KV mount (what `strongroom export` writes) as it
 * is; any other name under DEFAULT_PREFIX, the KV mount `strongroom server --dev` creates (as Vault's dev server).
 */
export const DEFAULT_PREFIX = 'secret/';

async function locateWithoutPrefix(client: Client, secret: ImportedSecret): Promise<KvLocation> {
  try {
    return await locate(client, joinPath('', secret.path));
  } catch (err) {
    if (!(err instanceof NoMountError)) throw err;
  }
  try {
    return await locate(client, joinPath(DEFAULT_PREFIX, secret.path));
  } catch (err) {
    if (!(err instanceof NoMountError)) throw err;
    throw new UsageError(
      `${secret.source}: "${secret.path}" starts with no KV mount and there is no KV mount at ${DEFAULT_PREFIX} to put it under`,
      '--prefix=MOUNT/FOLDER/ (e.g. --prefix=kv/app/)',
    );
  }
}

/** Mounts are resolved once per folder: an import of many secrets under one folder asks the server once. */
const mountCache = new Map<string, Promise<KvLocation>>();
async function locate(client: Client, path: string): Promise<KvLocation> {
  const folder = path.slice(0, path.lastIndexOf('/') + 1);
  let base = mountCache.get(folder);
  if (!base) {
    base = resolveKvPath(client, path);
    mountCache.set(folder, base);
  }
  const found = await base;
  if (!path.startsWith(found.mount)) return resolveKvPath(client, path);
  const rel = path.slice(found.mount.length);
  if (rel === '' || rel.endsWith('/'))
    throw new UsageError(`"${path}" names a folder, not a secret`, '--prefix ending in / and a secret name');
  return locationIn(found, rel, path);
}

async function currentData(client: Client, loc: KvLocation): Promise<Record<string, unknown> | null> {
  try {
    return valueOf(loc, await client.read(valuePath(loc)));
  } catch (err) {
    // Never written, or its latest version deleted: either way the import writes a fresh version.
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** Compares key by key; values are compared, never shown. */
export function planFor(path: string, current: Record<string, unknown> | null, next: Record<string, unknown>): Plan {
  if (current === null)
    return { path, status: 'new', added: Object.keys(next).sort(), changed: [], removed: [], unchanged: [] };
  const added: string[] = [];
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const [k, v] of Object.entries(next)) {
    if (!(k in current)) added.push(k);
    else if (JSON.stringify(current[k]) !== JSON.stringify(v)) changed.push(k);
    else unchanged.push(k);
  }
  const removed = Object.keys(current).filter((k) => !(k in next));
  const status = added.length + changed.length + removed.length === 0 ? 'unchanged' : 'changed';
  return {
    path,
    status,
    added: added.sort(),
    changed: changed.sort(),
    removed: removed.sort(),
    unchanged: unchanged.sort(),
  };
}

async function exportAction(ctx: Context, paths: string[]): Promise<void> {
  if (ctx.opts.format !== undefined && ctx.opts.output !== undefined && ctx.opts.format !== ctx.opts.output)
    throw new UsageError('--format and -o disagree', 'one of them');
  const format = String(ctx.opts.output ?? ctx.opts.format ?? 'json');
  if (format !== 'env' && format !== 'json' && format !== 'yaml')
    throw new UsageError(`unknown format "${format}"`, '--format=env, json or yaml');
  const client = ctx.client();
  const out: Record<string, Record<string, unknown>> = {};
  for (const path of paths) {
    const loc = await resolveKvPath(client, path);
    for (const secret of await expand(client, loc)) {
      const data = await currentData(client, secret);
      if (data !== null) out[secret.display] = data;
    }
  }
  if (Object.keys(out).length === 0)
    throw new CliError(`no secrets found under ${paths.join(', ')}`, `'strongroom kv list ${paths[0]}'`);
  if (format === 'json') process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(yaml().stringify(out, { lineWidth: 0 }));
  else
    process.stdout.write(
      Object.entries(out)
        .map(([p, data]) => toDotenv(data, p))
        .join('\n'),
    );
}

/** A secret path is itself; a folder (ending in / or the mount) is every secret below it, depth first. */
async function expand(client: Client, loc: KvLocation): Promise<KvLocation[]> {
  if (loc.rel !== '' && !loc.rel.endsWith('/')) return [loc];
  const out: KvLocation[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const key of (await client.list(listPath(locationIn(loc, rel)))).sort()) {
      const child = `${rel}${key}`;
      if (key.endsWith('/')) await walk(child);
      else out.push(locationIn(loc, child));
    }
  };
  await walk(loc.rel);
  return out;
}
