import type { AuditQuery, AuditService, AuditSinkInfo } from '../../audit/types.js';
import { StrongroomError, invalid } from '../../shared/errors.js';
import { normalizeDevicePath } from '../../audit/service.js';
import type { BackendPath, RequestContext } from '../../logical/backend.js';
import type { HttpDeps } from '../deps.js';
import { optNonNegativeInt, optObject, optString, reqString } from '../../logical/fields.js';

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
 * Vault's sys/audit (list, enable, disable devices) and sys/audit-hash, plus our forensic sys/audit/query:
 * "who read this path, when, from where".
 */
export function auditPaths(deps: Pick<HttpDeps, 'audit'>): BackendPath[] {
  const service = (): AuditService => {
    const audit = deps.audit();
    if (!audit) throw new StrongroomError('sealed', 'Strongroom is sealed');
    return audit;
  };
  return [
    {
      name: 'sys.audit.query',
      pattern: 'audit/query',
      sudo: true,
      operations: {
        read: async (ctx) => ({ data: { entries: await service().query(queryOf(ctx.query)) } }),
        update: async (ctx) => ({ data: { entries: await service().query(queryOf(ctx.data)) } }),
      },
    },
    {
      name: 'sys.audit.list',
      pattern: 'audit/?',
      sudo: true,
      operations: {
        read: async () => {
          const out: Record<string, unknown> = {};
          for (const sink of await service().list()) out[sink.path] = sinkView(sink);
          return { data: out };
        },
      },
    },
    {
      name: 'sys.audit',
      pattern: 'audit/(?<path>.+?)/?',
      aclPath: canonicalDeviceAclPath,
      sudo: true,
      operations: {
        update: async (ctx) => {
          const path = `${ctx.params.path}/`;
          if (path === 'query/') throw invalid('"query/" is reserved for sys/audit/query');
          const type = reqString(ctx.data, 'type');
          if (type !== 'file' && type !== 'database') throw invalid('audit device type must be "file" or "database"');
          const options: Record<string, string> = {};
          for (const [k, v] of Object.entries(optObject(ctx.data, 'options') ?? {})) options[k] = String(v);
          if (type === 'file' && !options.file_path) throw invalid('a file audit device needs options.file_path');
          await service().enable({ path, type, description: optString(ctx.data, 'description') ?? '', options });
        },
        delete: async (ctx) => void (await service().disable(`${ctx.params.path}/`)),
      },
    },
    {
      name: 'sys.audit-hash',
      pattern: 'audit-hash/(?<path>.+)',
      operations: {
        update: async (ctx) => {
          const input = reqString(ctx.data, 'input');
          // Every device hashes with the store's one audit key, but Vault answers only for an enabled device (and
          // hvac matches its text), so a typo in the device name is an error rather than a plausible-looking hash.
          const path = normalizeDevicePath(ctx.params.path!);
          const devices = await service().list();
          if (!devices.some((device) => device.path === path)) throw invalid(`unknown audit backend "${path}"`);
          return { data: { hash: service().hash(input) } };
        },
      },
    },
  ];
}

function sinkView(sink: AuditSinkInfo): Record<string, unknown> {
  // `local`: a device of this server process only (its --audit-file), as Vault marks devices not replicated.
  return { type: sink.type, description: sink.description, options: sink.options, path: sink.path, local: sink.local ?? false };
}

function queryOf(data: Record<string, unknown>): AuditQuery {
  const query: AuditQuery = {};
  const path = optString(data, 'path');
  if (path) query.path = path;
  const accessor = optString(data, 'accessor');
  if (accessor) query.accessor = accessor;
  const displayName = optString(data, 'display_name');
  if (displayName) query.displayName = displayName;
  const operation = optString(data, 'operation');
  if (operation) query.operation = operation;
  const since = timeOf(data, 'since');
  if (since !== undefined) query.since = since;
  const until = timeOf(data, 'until');
  if (until !== undefined) query.until = until;
  query.limit = Math.min(optNonNegativeInt(data, 'limit') ?? 100, 10_000);
  return query;
}

/** RFC 3339 or epoch milliseconds. */
function timeOf(data: Record<string, unknown>, field: string): number | undefined {
  const raw = optString(data, field);
  if (raw === undefined || raw === '') return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw invalid(`field "${field}" must be an RFC 3339 time or epoch milliseconds`);
  return ms;
}
