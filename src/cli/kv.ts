import type { Command } from 'commander';
import { act, group, leaf, oneLineErrors } from './command.js';
import { CliError, UsageError } from './errors.js';
import { parseKeyValues, parsePositiveInt, parseVersions } from './input.js';
import {
  collect,
  diff,
  done,
  get,
  history,
  located,
  metadataTable,
  nonNegative,
  success,
  versionTable,
  writeVersion,
} from './kv-actions.js';
import { listPath, resolveKvPath } from './kv-paths.js';
import { emit, gridTable } from './output.js';

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
