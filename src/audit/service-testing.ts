import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import type { EngineContext } from '../../test/support/engines.js';
import { createAuditService } from './service.js';
import type { AuditService } from './types.js';

/** Shared setup of the audit service tests (service*.test.ts). */
export const hmacKey = randomBytes(32);

/**
 * Call inside a describeEachEngine body: every test starts with no audit device in storage, and the services it
 * opened are closed after it. Returns `open`, which opens a service on the engine's storage.
 */
export function useAuditServices(ctx: EngineContext): {
  open: (nodeId?: string) => Promise<AuditService>;
  /** Services to close after the test: push those opened other than with `open`. */
  opened: AuditService[];
} {
  const opened: AuditService[] = [];
  const open = async (nodeId?: string) => {
    const service = await createAuditService({ hmacKey, storage: ctx.storage(), ...(nodeId ? { nodeId } : {}) });
    opened.push(service);
    return service;
  };
  const clearDevices = async () => {
    await ctx.storage().db.deleteFrom('audit_sinks').execute();
    await ctx.storage().db.deleteFrom('audit_anchors').execute();
    await ctx.storage().db.deleteFrom('audit_log').execute();
  };
  beforeEach(clearDevices);
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.close()));
  });
  return { open, opened };
}
