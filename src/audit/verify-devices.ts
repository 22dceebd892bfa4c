import { stat } from 'node:fs/promises';
import type { AuditRepository } from './repository.js';
import type { AuditSink } from './sink.js';
import type { AuditSinkInfo, DeviceVerification, VerifyResult } from './types.js';
import { verifyAuditFile, verifyDatabaseChain } from './verify.js';

/**
 * sys/audit/verify: the chain of every open device, checked while the devices keep writing.
 *
 * A file device is checked up to what it has made durable when the check begins, against where its file starts and
 * the last entry it made durable: the expectations `strongroom audit verify --from-database` takes from the file's
 * anchor, here taken from the device itself (the anchor follows them a second behind, so it could only be older).
 * The bytes after that extent are a batch being written or synced now, not a torn line. The database device is
 * checked as `verifyDatabaseChain` does: every node's chain, links and indexed columns.
 *
 * All devices share one time budget: a huge log stops where the budget ends and is reported `incomplete` with what
 * was checked; `strongroom audit verify` on the host checks a file to its end.
 */
export interface VerifyDevicesContext {
  repository: AuditRepository;
  clock: () => number;
  budgetMs: number;
}

export async function verifyOpenDevices(
  devices: ReadonlyArray<{ info: AuditSinkInfo; sink: AuditSink }>,
  ctx: VerifyDevicesContext,
): Promise<DeviceVerification[]> {
  const deadline = ctx.clock() + ctx.budgetMs;
  const out: DeviceVerification[] = [];
  for (const { info, sink } of [...devices].sort((a, b) => a.info.path.localeCompare(b.info.path))) {
    const started = ctx.clock();
    const base = { path: info.path, type: info.type };
    const finish = (rest: Omit<DeviceVerification, 'path' | 'type' | 'elapsedMs' | 'ok'>): DeviceVerification => ({
      ...base,
      ok: rest.state === 'intact',
      ...rest,
      elapsedMs: Math.max(0, ctx.clock() - started),
    });
    if (started >= deadline) {
      out.push(finish({ state: 'incomplete', entries: 0, reason: 'the time budget ran out before this device' }));
      continue;
    }
    if (info.type === 'database') {
      const result = await verifyDatabaseChain(ctx.repository, undefined, { deadline, clock: ctx.clock });
      out.push(finish(fromResult(result)));
      continue;
    }
    const target = sink.verifyTarget?.();
    if (!target) {
      const reason =
        info.options.file_path === 'discard'
          ? 'the device discards its entries: nothing is kept to verify'
          : 'the device writes to standard output: its entries are kept by whatever collects that output';
      out.push(finish({ state: 'unverifiable', entries: 0, reason }));
      continue;
    }
    const file = { filePath: target.filePath, bytes: target.durableBytes };
    const now = await stat(target.filePath).catch((err: NodeJS.ErrnoException) => err);
    if (now instanceof Error || now.ino !== target.ino) {
      const reason =
        now instanceof Error && now.code !== 'ENOENT'
          ? `cannot read the file (${now.code ?? 'error'})`
          : 'the file at this path is not the one the device writes (moved by log rotation? the device opens the new file on SIGHUP)';
      out.push(finish({ state: 'unverifiable', entries: 0, reason, ...file }));
      continue;
    }
    try {
      const result = await verifyAuditFile(target.filePath, {
        endByte: target.durableBytes,
        expectHead: target.first,
        expectTail: target.last,
        deadline,
        clock: ctx.clock,
      });
      out.push(finish({ ...fromResult(result), ...file }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      out.push(finish({ state: 'unverifiable', entries: 0, reason: `cannot read the file (${code})`, ...file }));
    }
  }
  return out;
}

function fromResult(result: VerifyResult): Omit<DeviceVerification, 'path' | 'type' | 'elapsedMs' | 'ok'> {
  const state = !result.ok ? 'broken' : result.complete === false ? 'incomplete' : 'intact';
  return {
    state,
    entries: result.entries,
    ...(state === 'incomplete' ? { reason: 'the time budget ran out: only the first entries were checked' } : {}),
    ...(result.reason !== undefined ? { reason: result.reason } : {}),
    ...(result.badLine !== undefined ? { badLine: result.badLine } : {}),
    ...(result.firstSeq !== undefined ? { firstSeq: result.firstSeq } : {}),
    ...(result.lastSeq !== undefined ? { lastSeq: result.lastSeq } : {}),
    ...(result.nodeId !== undefined && state !== 'intact' ? { nodeId: result.nodeId } : {}),
  };
}
