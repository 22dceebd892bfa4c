import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StrongroomError } from '../shared/errors.js';
import type { AuditLog } from './broker.js';
import { createRedactor, HMAC_PREFIX } from './redact.js';
import { createSystemAudit } from './system-audit.js';
import type { AuditEvent } from './types.js';

function recordingLog(fail = false) {
  const events: AuditEvent[] = [];
  const log: AuditLog = {
    log: async (event) => {
      if (fail) throw new StrongroomError('unavailable', 'audit device refused the write');
      events.push(event);
    },
    logAll: async (batch) => void events.push(...batch),
  };
  return { log, events };
}

describe('SystemAudit', () => {
  it('writes the request entry before the action and the response entry after, as system:<job>', async () => {
    const { log, events } = recordingLog();
    const order: string[] = [];
    const audit = createSystemAudit({ audit: () => log });
    const result = await audit.run(
      { job: 'lease-expiration', path: 'sys/leases/revoke', operation: 'update', data: { lease_id: 'db/creds/a/x' } },
      async () => {
        order.push(`action after ${events.length} entries`);
        return 42;
      },
    );
    expect(result).toBe(42);
    expect(order).toEqual(['action after 1 entries']);
    expect(events.map((e) => e.type)).toEqual(['request', 'response']);
    expect(events[0]!.auth).toMatchObject({ display_name: 'system:lease-expiration' });
    expect(events[0]!.request).toMatchObject({ path: 'sys/leases/revoke', operation: 'update' });
    expect(events[1]!.response).toEqual({ status: 204 });
  });

  it('fails closed: the action does not run when the request entry cannot be written, nor while sealed', async () => {
    let ran = false;
    const refused = createSystemAudit({ audit: () => recordingLog(true).log });
    const entry = { job: 'j', path: 'sys/x', operation: 'update' as const };
    await expect(refused.run(entry, async () => void (ran = true))).rejects.toThrow('audit device refused');
    await expect(createSystemAudit({ audit: () => null }).run(entry, async () => void (ran = true))).rejects.toThrow(
      'sealed',
    );
    expect(ran).toBe(false);
  });

  it("records a failed action's error kind only, and rethrows it", async () => {
    const { log, events } = recordingLog();
    const audit = createSystemAudit({ audit: () => log });
    const driverError = new Error('password authentication failed for user "v-root" with password s3cret');
    await expect(
      audit.run({ job: 'j', path: 'sys/x', operation: 'update' }, () => Promise.reject(driverError)),
    ).rejects.toBe(driverError);
    expect(events[1]).toMatchObject({ type: 'response', response: { status: 500 }, error: 'Error' });
  });

  it('the redactor keeps clearData keys of the request in clear and HMACs the rest', async () => {
    const { log, events } = recordingLog();
    const audit = createSystemAudit({ audit: () => log });
    await audit.run(
      {
        job: 'j',
        path: 'sys/leases/revoke',
        operation: 'update',
        data: { lease_id: 'db/creds/a/x', username: 'v-app-1' },
        clearData: ['lease_id'],
      },
      async () => undefined,
    );
    const redact = createRedactor(randomBytes(32));
    const [request] = redact.redactAll(events);
    expect(request!.request.data).toMatchObject({ lease_id: 'db/creds/a/x' });
    expect(String(request!.request.data!.username)).toMatch(new RegExp(`^${HMAC_PREFIX}`));
    expect(request!.request).not.toHaveProperty('clear_data');
  });

  it("the redactor keeps a response's lease (secret block) id, ttl and renewable in clear", () => {
    const redact = createRedactor(randomBytes(32));
    const [out] = redact.redactAll([
      {
        type: 'response',
        time: new Date().toISOString(),
        request: { id: 'r', operation: 'read', path: 'db/creds/a' },
        response: {
          status: 200,
          data: { password: 'p' },
          secret: { lease_id: 'db/creds/a/x', ttl: 60, renewable: true },
        },
      },
    ]);
    expect(out!.response!.secret).toEqual({ lease_id: 'db/creds/a/x', ttl: 60, renewable: true });
    expect(String(out!.response!.data!.password)).toMatch(new RegExp(`^${HMAC_PREFIX}`));
  });
});
