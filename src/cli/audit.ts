import type { Command } from 'commander';
import type { Client } from './client.js';
import { yaml } from './deferred-modules.js';
import { act, group, leaf, oneLineErrors, type Context } from './command.js';
import { CliError, UsageError } from './errors.js';
import { parseKeyValues, parsePositiveInt } from './input.js';
import { colors, emit, gridTable, write, type OutputFormat } from './output.js';

/*
 * `strongroom audit …`: verify a log's hash chain, query the database device, tail, and manage devices.
 *
 * Script output shapes:
 *   verify       {ok, entries, bad_line?, reason?, first_seq?, last_seq?, last_hash?}   (exit 1 when not ok)
 *   query, tail  [audit record, ...] as stored (Vault's audit entry shape plus seq/prev_hash/hash); tail -f with
 *                -o json prints one record per line (JSON lines)
 *   list         {"<path>": {type, description, options}}
 */
export function registerAudit(program: Command): void {
  const audit = group(program, 'audit', 'Verify, query and tail the audit log; enable and disable audit devices');

  leaf(
    audit,
    'verify',
    "Check an audit file's hash chain: detects changed, removed or reordered entries (local, no server)",
    [
      'strongroom audit verify /var/log/strongroom/audit.log',
      'strongroom audit verify --from-database --data-dir=/var/lib/strongroom /var/lib/strongroom/audit/server.log',
      'strongroom audit verify --expect-tail=1234:9f2c…e1 /var/log/strongroom/audit.log',
    ],
    { connect: false },
  )
    .argument('<path>', 'audit log file')
    .option(
      '--from-database',
      "check the file against its anchors in the server's database: reports entries missing at the head or the tail",
    )
    .option('--data-dir <dir>', 'with --from-database: the server data directory (SQLite; env STRONGROOM_DATA_DIR)')
    .option('--database-url <url>', 'with --from-database: the server PostgreSQL URL (env STRONGROOM_DATABASE_URL)')
    .option(
      '--node-name <name>',
      "with --from-database: the server process's node name (default: the only anchor of this file, else the host name)",
    )
    .option('--expect-head <seq:prev_hash>', 'the file must start with this entry (seq and prev_hash)')
    .option('--expect-tail <seq:hash>', 'the file must hold this entry (seq and hash) at or before its end')
    .action(
      act(async (ctx, [path]) => {
        // Loaded on demand: only this command needs the audit domain's code.
        const { verifyAuditFile } = await import('../audit/verify.js');
        const expectations = {
          ...(ctx.opts.expectHead
            ? { expectHead: parseAnchorFlag(String(ctx.opts.expectHead), '--expect-head', 'prevHash') }
            : {}),
          ...(ctx.opts.expectTail
            ? { expectTail: parseAnchorFlag(String(ctx.opts.expectTail), '--expect-tail', 'hash') }
            : {}),
          ...(ctx.opts.fromDatabase ? await anchorsFromDatabase(String(path), ctx.opts) : {}),
        };
        let result;
        try {
          result = await verifyAuditFile(path as string, expectations);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
            throw new UsageError(`cannot read ${path} (${code})`, 'the path of a file audit device');
          throw err;
        }
        const view = {
          ok: result.ok,
          entries: result.entries,
          ...(result.badLine !== undefined ? { bad_line: result.badLine } : {}),
          ...(result.reason !== undefined ? { reason: result.reason } : {}),
          ...(result.firstSeq !== undefined ? { first_seq: result.firstSeq } : {}),
          ...(result.lastSeq !== undefined ? { last_seq: result.lastSeq } : {}),
          ...(result.lastHash !== undefined ? { last_hash: result.lastHash } : {}),
          ...(expectations.expectHead
            ? { expected_head: { seq: expectations.expectHead.seq, prev_hash: expectations.expectHead.prevHash } }
            : {}),
          ...(expectations.expectTail
            ? { expected_tail: { seq: expectations.expectTail.seq, hash: expectations.expectTail.hash } }
            : {}),
        };
        const anchored = expectations.expectHead || expectations.expectTail ? ', matches its anchors' : '';
        emit(ctx.format, view, () =>
          result.ok
            ? `${colors.green('OK')} ${path}: ${result.entries} entries, hash chain intact${anchored}`
            : `${colors.red('FAILED')} ${path}: line ${result.badLine}: ${result.reason}`,
        );
        if (!result.ok) process.exitCode = 1;
      }),
    );

  const query = leaf(audit, 'query', 'Who did what, when, from where: search the database audit device (needs sudo)', [
    'strongroom audit query --path=secret/data/app/db --operation=read --since=7d',
    'strongroom audit query --identity=ci-deployer --since=2025-01-01T00:00:00Z -o json',
    'strongroom audit query --outcome=error --since=24h',
  ]);
  queryFlags(query).action(
    act(async (ctx) => {
      const records = await runQuery(ctx.client(), ctx.opts);
      emit(ctx.format, records, () => (records.length === 0 ? 'no matching audit entries' : recordsTable(records)));
    }),
  );

  const tail = leaf(audit, 'tail', 'Show the latest audit entries; -f keeps printing new ones', [
    'strongroom audit tail',
    'strongroom audit tail -f --path=secret/*',
  ]);
  queryFlags(tail)
    .option('-n, --lines <n>', 'how many recent entries to show first', '20')
    .option('-f, --follow', 'keep printing new entries until interrupted')
    .option('--interval <ms>', 'poll interval with -f', '1000')
    .action(act(async (ctx) => tailAction(ctx)));

  leaf(audit, 'list', 'List the enabled audit devices', ['strongroom audit list']).action(
    act(async (ctx) => {
      const data = (await ctx.client().read('sys/audit'))?.data ?? {};
      emit(ctx.format, data, () =>
        gridTable(
          ['Path', 'Type', 'Description', 'Options'],
          Object.entries(data as Record<string, Record<string, unknown>>).map(([p, d]) => [
            p,
            d.type,
            d.description,
            d.options,
          ]),
        ),
      );
    }),
  );

  leaf(audit, 'enable', 'Enable an audit device: database (queryable) or file (file_path=…)', [
    'strongroom audit enable database',
    'strongroom audit enable file file_path=/var/log/strongroom/audit.log',
  ])
    .argument('<type>', 'database or file')
    .argument('[options...]', 'device options as key=value (file: file_path=…)')
    .option('--path <path>', 'where to enable it (default: the type name)')
    .option('--description <text>', 'human-friendly description')
    .action(
      act(async (ctx, [type, options]) => {
        if (type !== 'database' && type !== 'file')
          throw new UsageError(`unknown audit device type "${type}"`, 'database or file');
        const opts = await parseKeyValues(options as string[], { noun: 'option' });
        const path = String(ctx.opts.path ?? type).replace(/^\/+|\/+$/g, '');
        await ctx.client().request('PUT', `sys/audit/${path}`, {
          body: { type, options: opts, ...(ctx.opts.description ? { description: String(ctx.opts.description) } : {}) },
        });
        emit(
          ctx.format,
          { path: `${path}/`, type },
          () => `${colors.green('Success!')} enabled the ${type} audit device at: ${path}/`,
        );
      }),
    );

  leaf(audit, 'disable', 'Disable an audit device', ['strongroom audit disable database'])
    .argument('<path>', 'device path')
    .action(
      act(async (ctx, [path]) => {
        const clean = String(path).replace(/^\/+|\/+$/g, '');
        await ctx.client().delete(`sys/audit/${clean}`);
        emit(
          ctx.format,
          { path: `${clean}/` },
          () => `${colors.green('Success!')} disabled the audit device at: ${clean}/`,
        );
      }),
    );

  oneLineErrors(audit);
}

function queryFlags(cmd: Command): Command {
  return cmd
    .option('--path <path>', 'request path, exact or prefix ending in * (secret/data/app/*)')
    .option(
      '--identity <who>',
      'who: a token display name (root, approle-ci, …), an identity entity id or a token accessor',
    )
    .option('--operation <op>', 'create, read, update, patch, delete or list')
    .option('--outcome <outcome>', 'success (responses without error) or error (refused or failed requests)')
    .option('--remote-address <ip>', 'requests from this client address')
    .option('--since <when>', 'from: RFC 3339 time or a duration ago (30m, 24h, 7d)')
    .option('--until <when>', 'to: RFC 3339 time or a duration ago')
    .option('--limit <n>', 'at most this many entries', '100');
}

const OPERATIONS = ['create', 'read', 'update', 'patch', 'delete', 'list'];

/** `7d`, `24h`, `30m`, `45s`, `2w` ago, or an absolute RFC 3339 time → epoch ms. */
export function parseWhen(value: string, flag: string, now = Date.now()): number {
  const rel = /^(\d+)(s|m|h|d|w)$/.exec(value.trim());
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[rel[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return now - Number(rel[1]) * unit;
  }
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(value.trim())) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(
    `${flag} "${value}" is neither a duration ago nor an RFC 3339 time`,
    `${flag}=7d or ${flag}=2025-01-31T12:00:00Z`,
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AuditRecord = Record<string, any>;

async function runQuery(client: Client, opts: Record<string, unknown>, sinceOverride?: number): Promise<AuditRecord[]> {
  const query: Record<string, string | number> = { limit: parsePositiveInt(String(opts.limit ?? '100'), '--limit') };
  if (opts.path) query.path = String(opts.path);
  if (opts.operation) {
    const op = String(opts.operation).toLowerCase();
    if (!OPERATIONS.includes(op)) throw new UsageError(`unknown operation "${opts.operation}"`, OPERATIONS.join(', '));
    query.operation = op;
  }
  // The server matches a display name, an entity id or an accessor (sys/audit/query's `identity`).
  if (opts.identity) query.identity = String(opts.identity);
  if (opts.outcome) {
    const outcome = String(opts.outcome).toLowerCase();
    if (outcome !== 'success' && outcome !== 'error')
      throw new UsageError(`unknown outcome "${opts.outcome}"`, 'success or error');
    query.outcome = outcome;
  }
  if (opts.remoteAddress) query.remote_address = String(opts.remoteAddress);
  const since = sinceOverride ?? (opts.since ? parseWhen(String(opts.since), '--since') : undefined);
  if (since !== undefined) query.since = since;
  if (opts.until) query.until = parseWhen(String(opts.until), '--until');
  const data = (await client.read('sys/audit/query', query))?.data;
  if (!Array.isArray(data?.entries)) throw new CliError('the server answered the audit query without entries');
  return data.entries as AuditRecord[];
}

function recordsTable(records: AuditRecord[]): string {
  return gridTable(
    ['Time', 'Type', 'Identity', 'Operation', 'Path', 'Remote', 'Outcome'],
    records.map((r) => [
      r.time,
      r.type,
      identityOf(r),
      r.request?.operation,
      r.request?.path,
      r.request?.remote_address,
      outcomeOf(r),
    ]),
  );
}

function identityOf(r: AuditRecord): string {
  const auth = r.auth ?? {};
  const sa = auth.metadata?.service_account_name
    ? ` (sa ${auth.metadata.service_account_namespace}/${auth.metadata.service_account_name})`
    : '';
  return `${auth.display_name ?? '-'}${sa}`;
}

function outcomeOf(r: AuditRecord): string {
  if (r.error) return colors.red(String(r.error));
  if (r.type === 'response') {
    const status = Number(r.response?.status ?? 0);
    return status >= 400 ? colors.red(String(status)) : colors.green(String(status || 'ok'));
  }
  return '-';
}

function line(r: AuditRecord, format: OutputFormat): string {
  if (format === 'json' || format === 'vault-json') return JSON.stringify(r);
  if (format === 'yaml') return yaml().stringify([r], { lineWidth: 0 }).trimEnd();
  return [
    r.time,
    r.type,
    identityOf(r),
    r.request?.operation,
    r.request?.path,
    r.request?.remote_address,
    outcomeOf(r),
  ].join('  ');
}

async function tailAction(ctx: Context): Promise<void> {
  const client = ctx.client();
  const first = await runQuery(client, { ...ctx.opts, limit: parsePositiveInt(String(ctx.opts.lines), '--lines') });
  const ordered = [...first].reverse();
  if (!ctx.opts.follow) {
    emit(ctx.format, ordered, () => (ordered.length === 0 ? 'no matching audit entries' : recordsTable(ordered)));
    return;
  }
  const interval = parsePositiveInt(String(ctx.opts.interval), '--interval');
  const seen = new Set(ordered.map(keyOf));
  let since = ordered.length ? Date.parse(String(ordered[ordered.length - 1]!.time)) : Date.now();
  for (const r of ordered) write(line(r, ctx.format));
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  process.once('SIGTERM', () => (stop = true));
  while (!stop) {
    await new Promise((r) => setTimeout(r, interval));
    if (stop) break;
    // Entries at the same millisecond as the last one seen are fetched again and dropped by their hash.
    const fresh = (await runQuery(client, { ...ctx.opts, limit: '1000' }, since)).reverse();
    for (const r of fresh) {
      const key = keyOf(r);
      if (seen.has(key)) continue;
      seen.add(key);
      write(line(r, ctx.format));
      const t = Date.parse(String(r.time));
      if (Number.isFinite(t) && t > since) since = t;
    }
    if (seen.size > 100_000) seen.clear();
  }
}

function keyOf(r: AuditRecord): string {
  return String(r.hash ?? `${r.seq}:${r.time}`);
}

/** `SEQ:HEX64`, as the server's refusal message and `audit verify -o json` print them. */
function parseAnchorFlag<K extends 'prevHash' | 'hash'>(
  value: string,
  flag: string,
  key: K,
): { seq: number } & Record<K, string> {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag} "${value}" is not SEQ:HASH`, `${flag}=1234:<64 hex digits>`);
  return { seq: Number(m[1]), [key]: m[2]! } as { seq: number } & Record<K, string>;
}

/**
 * The anchors of a file, read straight from the server's database (read-only, no migration): the server need not
 * be up, and a server that refuses to serve because the file is cut still lets you see why.
 */
async function anchorsFromDatabase(
  file: string,
  opts: Record<string, unknown>,
): Promise<{ expectHead: { seq: number; prevHash: string }; expectTail: { seq: number; hash: string } }> {
  const { resolve, join } = await import('node:path');
  const { openStorage } = await import('../server/open-storage.js');
  const { createAuditRepository } = await import('../audit/repository.js');
  const url = (opts.databaseUrl as string | undefined) ?? process.env.STRONGROOM_DATABASE_URL;
  const dataDir = (opts.dataDir as string | undefined) ?? process.env.STRONGROOM_DATA_DIR;
  if (!url && !dataDir)
    throw new UsageError(
      '--from-database needs the server database',
      '--data-dir=<server data dir> or --database-url=postgres://…',
    );
  const storage = await openStorage(
    url
      ? { engine: 'postgres', url, poolSize: 1 }
      : { engine: 'sqlite', file: join(resolve(dataDir!), 'strongroom.db') },
    {
      migrate: false,
    },
  );
  try {
    const anchors = await createAuditRepository(storage).anchorsFor(resolve(file), opts.nodeName as string | undefined);
    let anchor = anchors[0];
    if (anchors.length > 1) {
      const { defaultNodeName } = await import('../server/config.js');
      anchor = anchors.find((a) => a.nodeName === defaultNodeName());
      if (!anchor)
        throw new UsageError(
          `${file} has anchors from several nodes (${anchors.map((a) => a.nodeName).join(', ')})`,
          '--node-name=<the node that writes it>',
        );
    }
    if (!anchor)
      throw new CliError(
        `no anchor recorded for ${resolve(file)}${opts.nodeName ? ` on node ${String(opts.nodeName)}` : ''}`,
      );
    return {
      expectHead: { seq: anchor.firstSeq, prevHash: anchor.firstPrevHash },
      expectTail: { seq: anchor.lastSeq, hash: anchor.lastHash },
    };
  } finally {
    await storage.close();
  }
}
