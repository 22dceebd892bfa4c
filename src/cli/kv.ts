import type { Command } from 'commander';
import { ApiError, type Client } from './client.js';
import { act, group, leaf, oneLineErrors, type Context } from './command.js';
import { CliError, UsageError } from './errors.js';
import { parseKeyValues, parsePositiveInt, parseVersions, parseWrapTtl, readStdinOnce } from './input.js';
import {
  listPath,
  resolveKvPath,
  requireSecretPath,
  valueOf,
  valuePath,
  writeBody,
  type KvLocation,
} from './kv-paths.js';
import { colors, emit, gridTable, keyValueTable, rawField } from './output.js';
import { emitWrapInfo } from './wrapping.js';

/*
 * `strongroom kv …`: Vault's `vault kv` over KV version 2, plus history, rollback and diff.
 *
 * Script output shapes (-o json; -o yaml is the same structure):
 *   put, patch, rollback   {created_time, custom_metadata, deletion_time, destroyed, version}
 *   get                    {data: {...}, metadata: {created_time, custom_metadata, deletion_time, destroyed, version}}
 *   get --wrap-ttl         Vault's wrap_info {token, accessor, ttl, creation_time, creation_path} (src/cli/wrapping.ts)
 *   list                   ["key", "folder/"]
 *   delete/undelete/destroy {path, versions}   (versions [] = the latest, for delete)
 *   history                {path, current_version, versions: [{version, created_time, deletion_time, destroyed, current}]}
 *   diff                   {from, to, added: [], removed: [], changed: [], values?: {key: {from?, to?}}}
 *   metadata get           Vault's metadata object (current_version, max_versions, versions{}, custom_metadata, ...)
 */
export function registerKv(program: Command): void {
  const kv = group(
    program,
    'kv',
    'Read and write versioned secrets (KV version 2): put, get, history, rollback, diff …',
  );

  leaf(kv, 'put', 'Write a new version of a secret (replaces all its keys)', [
    'strongroom kv put secret/app/db username=app password=@password.txt',
    'printf \'%s\' "$PASSWORD" | strongroom kv put secret/app/db username=app password=-',
    'strongroom kv put --cas=0 secret/app/new api_key=@key.txt     # only if it does not exist yet',
  ])
    .argument('<path>', 'secret path, starting with the mount (secret/app/db)')
    .argument('[pairs...]', 'key=value, key=@file or key=- (stdin); a lone - reads a JSON object from stdin')
    .option('--cas <version>', 'check-and-set: write only if the current version is this (0 = must not exist)')
    .action(act(async (ctx, [path, pairs]) => writeVersion(ctx, path as string, pairs as string[], 'put')));

  leaf(kv, 'patch', 'Change some keys of a secret, keeping the others (new version)', [
    'strongroom kv patch secret/app/db password=@new-password.txt',
  ])
    .argument('<path>', 'secret path')
    .argument('<pairs...>', 'key=value, key=@file or key=-')
    .option('--cas <version>', 'check-and-set: patch only if the current version is this')
    .action(act(async (ctx, [path, pairs]) => writeVersion(ctx, path as string, pairs as string[], 'patch')));

  leaf(kv, 'get', 'Read a secret (the latest version, or --version N)', [
    'strongroom kv get secret/app/db',
    'strongroom kv get --field=password secret/app/db > password.txt',
    'strongroom kv get --version=2 -o json secret/app/db',
    'strongroom kv get --wrap-ttl=15m --field=token secret/app/db   # a single-use wrapping token instead of the data',
  ])
    .argument('<path>', 'secret path')
    .option('--version <n>', 'version to read (default: the latest)')
    .option(
      '--field <key>',
      "print only this key's value, raw (for scripts); with --wrap-ttl, a wrap_info field (token)",
    )
    .option(
      '--wrap-ttl <duration>',
      "wrap the answer: print a single-use wrapping token (see 'strongroom unwrap') instead of the data",
    )
    .action(act(async (ctx, [path]) => get(ctx, path as string)));

  leaf(kv, 'list', 'List the secrets and folders under a path', [
    'strongroom kv list secret/',
    'strongroom kv list -o json secret/app/',
  ])
    .argument('<path>', 'folder path, starting with the mount')
    .action(
      act(async (ctx, [path]) => {
        const loc = await resolveKvPath(ctx.client(), path as string);
        const keys = await ctx.client().list(listPath(loc));
        if (keys.length === 0 && ctx.format === 'table') {
          throw new CliError(
            `nothing found under "${loc.display}"`,
            `'strongroom kv put ${loc.mount}app/example key=value' to write one`,
          );
        }
        emit(ctx.format, keys, () =>
          gridTable(
            ['Keys'],
            keys.map((k) => [k]),
          ),
        );
      }),
    );

  leaf(kv, 'delete', 'Soft-delete the latest version (or --versions): recoverable with undelete', [
    'strongroom kv delete secret/app/db',
    'strongroom kv delete --versions=1,2 secret/app/db',
  ])
    .argument('<path>', 'secret path')
    .option('--versions <list>', 'comma-separated versions (default: the latest)')
    .action(
      act(async (ctx, [path]) => {
        const loc = await located(ctx.client(), path as string);
        const versions = parseVersions(ctx.opts.versions as string | undefined);
        if (loc.version === 1) {
          if (versions.length > 0)
            throw new UsageError(
              `"${loc.mount}" is a KV version 1 mount: it has no versions`,
              `'strongroom kv delete ${loc.display}'`,
            );
          await ctx.client().delete(loc.plain);
          emit(ctx.format, { path: loc.display }, () => success(`deleted ${loc.display}`));
          return;
        }
        if (versions.length === 0) await ctx.client().delete(loc.api('data'));
        else await ctx.client().write(loc.api('delete'), { versions });
        done(
          ctx,
          loc,
          versions,
          versions.length ? `deleted versions ${versions.join(', ')} of` : 'deleted the latest version of',
        );
      }),
    );

  for (const [name, verb, summary] of [
    ['undelete', 'restored', 'Restore soft-deleted versions'],
    ['destroy', 'permanently destroyed', 'Permanently destroy versions (their data cannot be recovered)'],
  ] as const) {
    leaf(kv, name, summary, [`strongroom kv ${name} --versions=2 secret/app/db`])
      .argument('<path>', 'secret path')
      .requiredOption('--versions <list>', 'comma-separated versions')
      .action(
        act(async (ctx, [path]) => {
          const loc = await located(ctx.client(), path as string);
          const versions = parseVersions(ctx.opts.versions as string);
          if (versions.length === 0)
            throw new UsageError('--versions needs at least one version number', '--versions=1,2');
          await ctx.client().write(loc.api(name), { versions });
          done(ctx, loc, versions, `${verb} versions ${versions.join(', ')} of`);
        }),
      );
  }

  leaf(kv, 'history', 'List the versions of a secret: created, deleted, destroyed; the current one is marked', [
    'strongroom kv history secret/app/db',
  ])
    .argument('<path>', 'secret path')
    .action(act(async (ctx, [path]) => history(ctx, path as string)));

  leaf(kv, 'rollback', "Make an earlier version's data the newest version (history is kept)", [
    'strongroom kv rollback --version=2 secret/app/db',
  ])
    .argument('<path>', 'secret path')
    .requiredOption('--version <n>', 'the version whose data becomes current')
    .action(
      act(async (ctx, [path]) => {
        const loc = await located(ctx.client(), path as string);
        const version = parsePositiveInt(String(ctx.opts.version), '--version');
        const body = await ctx.client().write(loc.api('rollback'), { version });
        emit(
          ctx.format,
          body?.data ?? {},
          () =>
            `${success(`rolled ${loc.display} back to version ${version}: now version ${body?.data?.version}`)}\n${versionTable(body?.data)}`,
        );
      }),
    );

  leaf(kv, 'diff', 'Show which keys changed between two versions (values only with --show-values)', [
    'strongroom kv diff secret/app/db 1 2',
    'strongroom kv diff --show-values secret/app/db 2 3',
  ])
    .argument('<path>', 'secret path')
    .argument('<from>', 'older version')
    .argument('<to>', 'newer version')
    .option('--show-values', 'also print the values that changed (they are secrets: mind your terminal)')
    .action(act(async (ctx, [path, from, to]) => diff(ctx, path as string, from as string, to as string)));

  const metadata = kv.command('metadata').description("A secret's metadata: versions, limits and custom metadata");
  leaf(metadata, 'get', "Show a secret's metadata and version list", ['strongroom kv metadata get secret/app/db'])
    .argument('<path>', 'secret path')
    .action(
      act(async (ctx, [path]) => {
        const loc = await located(ctx.client(), path as string);
        const meta = (await ctx.client().read(loc.api('metadata')))?.data ?? {};
        emit(ctx.format, meta, () => metadataTable(meta));
      }),
    );
  leaf(metadata, 'put', "Set a secret's limits and custom metadata", [
    'strongroom kv metadata put --max-versions=5 --custom-metadata=owner=payments secret/app/db',
  ])
    .argument('<path>', 'secret path')
    .option('--max-versions <n>', 'versions to keep (0 = the mount default)')
    .option('--cas-required', 'require check-and-set on every write')
    .option('--delete-version-after <duration>', 'soft-delete versions older than this (e.g. 720h; 0 = never)')
    .option('--custom-metadata <key=value>', 'custom metadata (repeat the flag for several keys)', collect, [])
    .action(
      act(async (ctx, [path]) => {
        const loc = await located(ctx.client(), path as string);
        const body: Record<string, unknown> = {};
        if (ctx.opts.maxVersions !== undefined)
          body.max_versions = nonNegative(String(ctx.opts.maxVersions), '--max-versions');
        if (ctx.opts.casRequired) body.cas_required = true;
        if (ctx.opts.deleteVersionAfter !== undefined) body.delete_version_after = String(ctx.opts.deleteVersionAfter);
        const custom = ctx.opts.customMetadata as string[];
        if (custom.length > 0) body.custom_metadata = await parseKeyValues(custom, { noun: 'custom metadata' });
        if (Object.keys(body).length === 0) {
          throw new UsageError(
            'nothing to change',
            '--max-versions, --cas-required, --delete-version-after or --custom-metadata',
          );
        }
        await ctx.client().write(loc.api('metadata'), body);
        done(ctx, loc, [], 'updated the metadata of');
      }),
    );
  leaf(metadata, 'delete', 'Delete a secret entirely: every version and its metadata (irreversible)', [
    'strongroom kv metadata delete secret/app/old',
  ])
    .argument('<path>', 'secret path')
    .action(
      act(async (ctx, [path]) => {
        const loc = await located(ctx.client(), path as string);
        await ctx.client().delete(loc.api('metadata'));
        done(ctx, loc, [], 'deleted all versions and metadata of');
      }),
    );

  oneLineErrors(kv);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function nonNegative(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, got "${value}"`, `${flag}=10`);
  return Number(value);
}

async function located(client: Client, path: string): Promise<KvLocation> {
  const loc = await resolveKvPath(client, path);
  requireSecretPath(loc);
  return loc;
}

function success(text: string): string {
  return `${colors.green('Success!')} ${text}`;
}

function done(ctx: Context, loc: KvLocation, versions: number[], what: string): void {
  emit(ctx.format, { path: loc.display, versions }, () => success(`${what} ${loc.display}`));
}

async function writeVersion(ctx: Context, path: string, pairs: string[], mode: 'put' | 'patch'): Promise<void> {
  const loc = await located(ctx.client(), path);
  let data: Record<string, unknown>;
  if (pairs.length === 1 && pairs[0] === '-') {
    const text = await readStdinOnce('the JSON object');
    try {
      data = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new UsageError(
        'stdin is not valid JSON',
        'a JSON object, e.g. echo \'{"k":"v"}\' | strongroom kv put PATH -',
      );
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data))
      throw new UsageError('stdin must hold a JSON object');
  } else {
    if (pairs.length === 0) throw new UsageError('no data given', `'strongroom kv ${mode} ${loc.display} key=value'`);
    data = await parseKeyValues(pairs);
  }
  if (loc.version === 1) {
    // Vault's v1 takes the secret itself as the body and replaces it whole; it has no versions, check-and-set or patch.
    if (mode === 'patch' || ctx.opts.cas !== undefined) {
      throw new UsageError(
        `"${loc.mount}" is a KV version 1 mount: no ${mode === 'patch' ? 'patch' : '--cas'}`,
        `'strongroom kv put ${loc.display} key=value' replaces the whole secret`,
      );
    }
    await ctx.client().write(valuePath(loc), writeBody(loc, data));
    emit(ctx.format, { path: loc.display }, () => success(`wrote ${loc.display}`));
    return;
  }
  const body: Record<string, unknown> = { data };
  if (ctx.opts.cas !== undefined) body.options = { cas: nonNegative(String(ctx.opts.cas), '--cas') };
  const res =
    mode === 'put'
      ? await ctx.client().write(loc.api('data'), body)
      : (await ctx.client().request('PATCH', loc.api('data'), { body, contentType: 'application/merge-patch+json' }))
          .body;
  const info = res?.data ?? {};
  emit(ctx.format, info, () => `${success(`wrote version ${info.version} of ${loc.display}`)}\n${versionTable(info)}`);
}

function versionTable(info: Record<string, unknown> | undefined): string {
  return keyValueTable([
    ['version', info?.version],
    ['created_time', info?.created_time],
    ['deletion_time', info?.deletion_time],
    ['destroyed', info?.destroyed],
    ['custom_metadata', info?.custom_metadata],
  ]);
}

async function get(ctx: Context, path: string): Promise<void> {
  const wrapTtl = ctx.opts.wrapTtl === undefined ? undefined : parseWrapTtl(String(ctx.opts.wrapTtl));
  const loc = await located(ctx.client(), path);
  const version = ctx.opts.version === undefined ? undefined : parsePositiveInt(String(ctx.opts.version), '--version');
  if (loc.version === 1 && version !== undefined) {
    throw new UsageError(
      `"${loc.mount}" is a KV version 1 mount: it has no versions`,
      `'strongroom kv get ${loc.display}'`,
    );
  }
  let body;
  try {
    body = await ctx
      .client()
      .read(
        valuePath(loc),
        version === undefined ? undefined : { version },
        wrapTtl === undefined ? undefined : { wrapTtl },
      );
  } catch (err) {
    const meta = err instanceof ApiError && err.status === 404 ? err.body?.data?.metadata : undefined;
    if (meta) {
      const state = meta.destroyed ? 'destroyed' : `deleted at ${meta.deletion_time}`;
      throw new CliError(
        `version ${meta.version} of ${loc.display} was ${state}`,
        meta.destroyed
          ? `'strongroom kv history ${loc.display}' for versions that still hold data`
          : `'strongroom kv undelete --versions=${meta.version} ${loc.display}'`,
      );
    }
    if (err instanceof ApiError && err.status === 404) {
      throw new CliError(
        `no secret at ${loc.display}${version ? ` (version ${version})` : ''}`,
        `'strongroom kv list ${loc.mount}' to see which secrets exist`,
      );
    }
    throw err;
  }
  if (wrapTtl !== undefined) return emitWrapInfo(ctx, body);
  const data = valueOf(loc, body) ?? {};
  const metadata = loc.version === 1 ? null : (body?.data?.metadata ?? {});
  if (ctx.opts.field !== undefined) {
    const key = String(ctx.opts.field);
    if (!(key in data))
      throw new CliError(`${loc.display} has no key "${key}"`, `'strongroom kv get ${loc.display}' to see its keys`);
    rawField(data[key]);
    return;
  }
  if (metadata === null) {
    emit(ctx.format, { data }, () => [colors.bold('== Data =='), keyValueTable(Object.entries(data))].join('\n'));
    return;
  }
  emit(ctx.format, { data, metadata }, () =>
    [
      colors.bold(`== Metadata: ${loc.display} ==`),
      versionTable(metadata),
      colors.bold('== Data =='),
      keyValueTable(Object.entries(data)),
    ].join('\n'),
  );
}

async function history(ctx: Context, path: string): Promise<void> {
  const loc = await located(ctx.client(), path);
  const meta = (await ctx.client().read(loc.api('metadata')))?.data ?? {};
  const current = Number(meta.current_version ?? 0);
  const versions = Object.entries((meta.versions ?? {}) as Record<string, Record<string, unknown>>)
    .map(([v, info]) => ({
      version: Number(v),
      created_time: String(info.created_time ?? ''),
      deletion_time: String(info.deletion_time ?? ''),
      destroyed: info.destroyed === true,
      current: Number(v) === current,
    }))
    .sort((a, b) => b.version - a.version);
  emit(ctx.format, { path: loc.display, current_version: current, versions }, () =>
    gridTable(
      ['Version', 'Created', 'Deleted', 'Destroyed', 'Current'],
      versions.map((v) => [
        v.current ? colors.bold(String(v.version)) : v.version,
        v.created_time,
        v.deletion_time || '-',
        v.destroyed ? colors.red('yes') : 'no',
        v.current ? colors.green('*') : '-',
      ]),
    ),
  );
}

async function diff(ctx: Context, path: string, fromArg: string, toArg: string): Promise<void> {
  const loc = await located(ctx.client(), path);
  const from = parsePositiveInt(fromArg, 'FROM');
  const to = parsePositiveInt(toArg, 'TO');
  const showValues = ctx.opts.showValues === true;
  const data =
    (await ctx.client().read(loc.api('diff'), { from, to, ...(showValues ? { show_values: true } : {}) }))?.data ?? {};
  emit(ctx.format, data, () => {
    const added = (data.added ?? []) as string[];
    const removed = (data.removed ?? []) as string[];
    const changed = (data.changed ?? []) as string[];
    if (added.length + removed.length + changed.length === 0)
      return `versions ${from} and ${to} of ${loc.display} hold the same data`;
    const values = (data.values ?? {}) as Record<string, { from?: unknown; to?: unknown }>;
    const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
    const lines = [`${loc.display}: version ${from} → ${to}`];
    for (const k of added) lines.push(colors.green(`+ ${k}${showValues ? ` = ${show(values[k]?.to)}` : ''}`));
    for (const k of removed) lines.push(colors.red(`- ${k}${showValues ? ` = ${show(values[k]?.from)}` : ''}`));
    for (const k of changed)
      lines.push(colors.yellow(`~ ${k}${showValues ? `: ${show(values[k]?.from)} → ${show(values[k]?.to)}` : ''}`));
    return lines.join('\n');
  });
}

function metadataTable(meta: Record<string, unknown>): string {
  const versions = Object.entries((meta.versions ?? {}) as Record<string, Record<string, unknown>>).sort(
    (a, b) => Number(b[0]) - Number(a[0]),
  );
  return [
    keyValueTable([
      ['current_version', meta.current_version],
      ['oldest_version', meta.oldest_version],
      ['max_versions', meta.max_versions],
      ['cas_required', meta.cas_required],
      ['delete_version_after', meta.delete_version_after],
      ['created_time', meta.created_time],
      ['updated_time', meta.updated_time],
      ['custom_metadata', meta.custom_metadata],
    ]),
    gridTable(
      ['Version', 'Created', 'Deleted', 'Destroyed'],
      versions.map(([v, info]) => [v, info.created_time, info.deletion_time || '-', info.destroyed ? 'yes' : 'no']),
    ),
  ].join('\n');
}
