import { randomUUID } from 'node:crypto';
import { StrongroomError, isStrongroomError } from '../shared/errors.js';
import { logRequest, logResponse, type AuditLog } from './broker.js';
import type { AuditRequest } from './types.js';

/** One piece of background work to audit (the shape of logical/module.ts's SystemAudit entry). */
export interface SystemAuditEntry {
  job: string;
  path: string;
  operation: 'create' | 'update' | 'delete';
  data?: Record<string, unknown>;
  clearData?: readonly string[];
}

/**
 * Audits work no request asked for (a lease revoked on expiry, a scheduled rotation) through the broker, as the
 * pipeline audits a request: the request entry is durable before the action starts (fail closed: a rejected write
 * means the action does not run), then the response entry records the outcome. The caller is the job itself,
 * `display_name` `system:<job>`, with no token. Implements logical/module.ts's SystemAudit.
 *
 * `audit` is the store's accessor: null while sealed, throwing 'unavailable' while the audit log is not open.
 */
export function createSystemAudit(deps: { audit: () => AuditLog | null }) {
  return {
    async run<T>(entry: SystemAuditEntry, action: () => Promise<T>): Promise<T> {
      const log = deps.audit();
      if (!log) throw new StrongroomError('sealed', 'Strongroom is sealed');
      const request: AuditRequest = {
        id: randomUUID(),
        operation: entry.operation,
        path: entry.path,
        mount_type: 'system',
        ...(entry.data ? { data: entry.data } : {}),
        ...(entry.data && entry.clearData?.length ? { clear_data: entry.clearData } : {}),
      };
      const audited = await logRequest(log, {
        request,
        callerAuth: { display_name: `system:${entry.job}`, policies: [], token_type: 'system' },
      });
      let result: T;
      try {
        result = await action();
      } catch (err) {
        // The failure is recorded as its kind only: an engine's message may quote what it was doing.
        await logResponse(log, { requestEntry: audited, status: 500, error: failureKind(err) });
        throw err;
      }
      await logResponse(log, { requestEntry: audited, status: 204 });
      return result;
    },
  };
}

/** Our own errors' kind and message (never secret); for anything else only its name: a driver may quote values. */
function failureKind(err: unknown): string {
  if (isStrongroomError(err)) return `${err.kind}: ${err.message}`.slice(0, 200);
  return err instanceof Error ? err.name : 'unknown error';
}
