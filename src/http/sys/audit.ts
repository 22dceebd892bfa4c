import type { AuditPage, AuditQuery, AuditService, AuditSinkInfo, DeviceVerification } from '../../audit/types.js';
import { StrongroomError, invalid } from '../../shared/errors.js';
import { normalizeDevicePath } from '../../audit/service.js';
import { definePath, type BackendPath, type RequestContext } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import type { HttpDeps } from '../deps.js';

/**
 * The ACL judges the device the handler acts on ('sys/audit/main'), so 'sys/audit/main/' or 'sys/audit//main' cannot
 * disable a device past a rule written for 'sys/audit/main'. A path that does not normalize is judged as sent.
 */
function canonicalDeviceAclPath(ctx: RequestContext): string {
  try {
    return `sys/audit/${normalizeDevicePath(ctx.params.path!).slice(0, -1)}`;
  } catch {
    return ctx.path;
  }
}

/**
 * Vault's sys/audit (list, enable, disable devices) and sys/audit-hash, plus our forensic sys/audit/query ("who read
 * this path, when, from where", paged with next_cursor) and sys/audit/verify (every device's chain, on request).
 */
export function auditPaths(deps: Pick<HttpDeps, 'audit'>): BackendPath[] {
  const service = (): AuditService => {
    const audit = deps.audit();
    if (!audit) throw new StrongroomError('sealed', 'Strongroom is sealed');
    return audit;
  };
  return [
    definePath({
      name: 'sys.audit.query',
      pattern: 'audit/query',
      sudo: true,
      synopsis: 'Searches the database audit log: who did what on which path, when, from where.',
      fields: QUERY_FIELDS,
      queryFields: QUERY_FIELDS,
      operations: {
        read: async (ctx) => ({ data: pageView(await service().queryPage(queryOf(ctx.input))) }),
        update: async (ctx) => ({ data: pageView(await service().queryPage(queryOf(ctx.input))) }),
      },
    }),
    definePath({
      name: 'sys.audit.verify',
      pattern: 'audit/verify',
      sudo: true,
      synopsis: "Verifies every enabled audit device's hash chain (file devices against their anchors).",
      queryFields: VERIFY_FIELDS,
      operations: { read: async (ctx) => verifyAnswer(service(), ctx.input.timeout) },
    }),
    {
      name: 'sys.audit.list',
      pattern: 'audit/?',
      sudo: true,
      synopsis: 'Lists the enabled audit devices.',
      operations: {
        read: async () => {
          const out: Record<string, unknown> = {};
          for (const sink of await service().list()) out[sink.path] = sinkView(sink);
          return { data: out };
        },
      },
    },
    definePath({
      name: 'sys.audit',
      pattern: 'audit/(?<path>.+?)/?',
      aclPath: canonicalDeviceAclPath,
      sudo: true,
      synopsis: 'Enables or disables an audit device.',
      fields: {
        type: f.requiredString('The device type: file or database.'),
        description: f.string('A human-friendly description of the device.'),
        options: f.object('Device options (file: file_path, mode, format, ...).'),
        local: f.bool("Vault's replication flag; accepted and not applied."),
      },
      operations: {
        update: async (ctx) => {
          const path = `${ctx.params.path}/`;
          if (path === 'query/' || path === 'verify/') throw invalid(`"${path}" is reserved for sys/audit/${path}`);
          const type = ctx.input.type;
          if (type !== 'file' && type !== 'database') throw invalid('audit device type must be "file" or "database"');
          const options: Record<string, string> = {};
          for (const [k, v] of Object.entries(ctx.input.options ?? {})) options[k] = String(v);
          if (type === 'file' && !options.file_path) throw invalid('a file audit device needs options.file_path');
          await service().enable({ path, type, description: ctx.input.description ?? '', options });
        },
        delete: async (ctx) => void (await service().disable(`${ctx.params.path}/`)),
      },
    }),
    definePath({
      name: 'sys.audit-hash',
      pattern: 'audit-hash/(?<path>.+)',
      synopsis: "Hashes a value with an audit device's key, to compare it with the audit log.",
      fields: { input: f.requiredString('The value to hash.') },
      operations: {
        update: async (ctx) => {
          const input = ctx.input.input;
          // Every device hashes with the store's one audit key, but Vault answers only for an enabled device (and
          // hvac matches its text), so a typo in the device name is an error rather than a plausible-looking hash.
          const path = normalizeDevicePath(ctx.params.path!);
          const devices = await service().list();
          if (!devices.some((device) => device.path === path)) throw invalid(`unknown audit backend "${path}"`);
          return { data: { hash: service().hash(input) } };
        },
      },
    }),
  ];
}

function sinkView(sink: AuditSinkInfo): Record<string, unknown> {
  // `local`: a device of this server process only (its --audit-file), as Vault marks devices not replicated.
  return {
    type: sink.type,
    description: sink.description,
    options: sink.options,
    path: sink.path,
    local: sink.local ?? false,
  };
}

const QUERY_FIELDS = {
  path: f.string("Entries for this request path: exact, or a prefix ending in '*'."),
  accessor: f.string("Entries of this token accessor's requests (in clear or as its hmac-sha256 value)."),
  display_name: f.string('Entries of tokens with this display name.'),
  entity_id: f.string('Entries of tokens acting for this identity entity.'),
  identity: f.string('Entries of this caller, given as a display name, an entity id or a token accessor.'),
  remote_address: f.string('Entries of requests from this client address.'),
  operation: f.string('Entries of this operation (read, update, ...).'),
  type: f.enum(['request', 'response'] as const, 'Only request entries, or only response entries.'),
  outcome: f.enum(
    ['success', 'error'] as const,
    'success: responses without error; error: any entry with an error (refused requests, failed responses).',
  ),
  since: f.string('Entries from this time on (RFC 3339 or epoch milliseconds).'),
  until: f.string('Entries up to this time (RFC 3339 or epoch milliseconds).'),
  limit: f.int('The most entries to return (default 100, at most 10000).', { min: 0 }),
  cursor: f.string("The previous answer's next_cursor: the entries after that page, with the same filters."),
};

function queryOf(data: FieldsInput<typeof QUERY_FIELDS>): AuditQuery {
  const query: AuditQuery = {};
  if (data.path) query.path = data.path;
  if (data.accessor) query.accessor = data.accessor;
  if (data.display_name) query.displayName = data.display_name;
  if (data.entity_id) query.entityId = data.entity_id;
  if (data.identity) query.identity = data.identity;
  if (data.remote_address) query.remoteAddress = data.remote_address;
  if (data.operation) query.operation = data.operation;
  if (data.type) query.type = data.type;
  if (data.outcome) query.outcome = data.outcome;
  if (data.cursor) query.cursor = data.cursor;
  const since = timeOf(data.since, 'since');
  if (since !== undefined) query.since = since;
  const until = timeOf(data.until, 'until');
  if (until !== undefined) query.until = until;
  query.limit = Math.min(data.limit ?? 100, 10_000);
  return query;
}

/** The page as answered: `next_cursor` only when a full page may have more behind it. */
function pageView(page: AuditPage): Record<string, unknown> {
  return { entries: page.entries, ...(page.nextCursor !== undefined ? { next_cursor: page.nextCursor } : {}) };
}

const VERIFY_FIELDS = {
  timeout: f.duration('How long the verification may take in all devices together (default 10s, at most 300s).'),
};

const DEFAULT_VERIFY_SECONDS = 10;
const MAX_VERIFY_SECONDS = 300;

async function verifyAnswer(audit: AuditService, timeout: number | undefined) {
  const seconds = timeout ?? DEFAULT_VERIFY_SECONDS;
  if (seconds < 1 || seconds > MAX_VERIFY_SECONDS)
    throw invalid(`field "timeout" must be from 1s to ${MAX_VERIFY_SECONDS}s`);
  const devices = await audit.verifyDevices({ budgetMs: seconds * 1000 });
  return { data: { devices: devices.map(verificationView) } };
}

function verificationView(v: DeviceVerification): Record<string, unknown> {
  return {
    path: v.path,
    type: v.type,
    state: v.state,
    ok: v.ok,
    entries: v.entries,
    elapsed_ms: v.elapsedMs,
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...(v.badLine !== undefined ? { bad_line: v.badLine } : {}),
    ...(v.firstSeq !== undefined ? { first_seq: v.firstSeq } : {}),
    ...(v.lastSeq !== undefined ? { last_seq: v.lastSeq } : {}),
    ...(v.nodeId !== undefined ? { node_id: v.nodeId } : {}),
    ...(v.filePath !== undefined ? { file_path: v.filePath } : {}),
    ...(v.bytes !== undefined ? { bytes: v.bytes } : {}),
  };
}

/** RFC 3339 or epoch milliseconds. */
function timeOf(raw: string | undefined, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw invalid(`field "${field}" must be an RFC 3339 time or epoch milliseconds`);
  return ms;
}
