import { ApiError, type Client } from './client.js';
import type { Context } from './command.js';
import { CliError, UsageError } from './errors.js';
import { parseKeyValues, parsePositiveInt, parseWrapTtl, readJsonObjectFromStdin } from './input.js';
import { resolveKvPath, requireSecretPath, valueOf, valuePath, writeBody, type KvLocation } from './kv-paths.js';
import { colors, emit, gridTable, keyValueTable, rawField, plainFormat } from './output.js';
import { generatedValues } from './password.js';
import { emitWrapInfo } from './wrapping.js';

/*
 * The `strongroom kv …` handlers too long to sit inline in the command definitions (kv.ts), and the tables and
 * messages the commands share. Output shapes are documented in kv.ts.
 */

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function nonNegative(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, got "${value}"`, `${flag}=10`);
  return Number(value);
}

export async function located(client: Client, path: string): Promise<KvLocation> {
  const loc = await resolveKvPath(client, path);
  requireSecretPath(loc);
  return loc;
}

export function success(text: string): string {
  return `${colors.green('Success!')} ${text}`;
}

export function done(ctx: Context, loc: KvLocation, versions: number[], what: string): void {
  emit(ctx.format, { path: loc.display, versions }, () => success(`${what} ${loc.display}`));
}

export async function writeVersion(ctx: Context, path: string, pairs: string[], mode: 'put' | 'patch'): Promise<void> {
  const loc = await located(ctx.client(), path);
  const generate = (ctx.opts.generate ?? []) as string[];
  let data: Record<string, unknown>;
  if (pairs.length === 1 && pairs[0] === '-') {
    data = await readJsonObjectFromStdin('strongroom kv put PATH');
  } else {
    if (pairs.length === 0 && generate.length === 0)
      throw new UsageError('no data given', `'strongroom kv ${mode} ${loc.display} key=value'`);
    data = await parseKeyValues(pairs);
  }
  // Generated on the server (sys/policies/password/.../generate); the value is sent on, never printed.
  Object.assign(data, await generatedValues(ctx.client(), generate, data));
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

export function versionTable(info: Record<string, unknown> | undefined): string {
  return keyValueTable([
    ['version', info?.version],
    ['created_time', info?.created_time],
    ['deletion_time', info?.deletion_time],
    ['destroyed', info?.destroyed],
    ['custom_metadata', info?.custom_metadata],
  ]);
}

export async function get(ctx: Context, path: string): Promise<void> {
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

export async function history(ctx: Context, path: string): Promise<void> {
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
  // A view built from the metadata (no Vault counterpart): its own JSON under -format=json too.
  emit(plainFormat(ctx.format), { path: loc.display, current_version: current, versions }, () =>
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

export async function diff(ctx: Context, path: string, fromArg: string, toArg: string): Promise<void> {
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

export function metadataTable(meta: Record<string, unknown>): string {
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
