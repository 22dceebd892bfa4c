import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StrongroomError } from '../shared/errors.js';
import { auditAuthOf, deviceLog, fanOut, logRequest, logResponse, type AuditCaller, type AuditLog } from './broker.js';
import { createRedactor, HMAC_PREFIX } from './redact.js';
import type { AuditSink } from './sink.js';
import type { AuditEvent, AuditRequest } from './types.js';

const token: AuditCaller = {
  accessor: 'accessor-1',
  policies: ['default', 'app'],
  displayName: 'token-app',
  authMethod: 'token',
  meta: { team: 'payments' },
};

const request = (): AuditRequest => ({
  id: 'req-1',
  operation: 'read',
  path: 'secret/data/app',
  mount_type: 'kv',
  remote_address: '10.0.0.1',
  client_token: 'hvs.the-client-token',
  data: { password: 'hunter2' },
});

/** An AuditLog that records every call, in order, and fails when told to. */
function recordingLog(fail?: Error) {
  const calls: Array<{ method: 'log' | 'logAll'; events: AuditEvent[] }> = [];
  const log: AuditLog = {
    log: async (event) => {
      calls.push({ method: 'log', events: [event] });
      if (fail) throw fail;
    },
    logAll: async (events) => {
      calls.push({ method: 'logAll', events: [...events] });
      if (fail) throw fail;
    },
  };
  return { log, calls };
}

/** A device that keeps what it was given (already redacted) and fails when told to. */
function memorySink(fail?: Error) {
  const appended: AuditEvent[][] = [];
  const sink: AuditSink = {
    append: async (event) => {
      appended.push([event]);
      if (fail) throw fail;
    },
    appendAll: async (events) => {
      appended.push([...events]);
      if (fail) throw fail;
    },
    depth: () => 0,
    reopen: async () => undefined,
    close: async () => undefined,
  };
  return { sink, appended };
}

describe('audit broker: building entries', () => {
  it("writes a mutation's request entry before resolving, with the caller's auth block", async () => {
    const { log, calls } = recordingLog();
    const entry = await logRequest(log, { request: { ...request(), operation: 'update' }, token });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe('log');
    const event = calls[0]!.events[0]!;
    expect(event).toMatchObject({ type: 'request', request: { operation: 'update', path: 'secret/data/app' } });
    expect(event.auth).toEqual({
      accessor: 'accessor-1',
      display_name: 'token-app',
      policies: ['default', 'app'],
      token_type: 'service',
      auth_method: 'token',
      metadata: { team: 'payments' },
    });
    expect(entry.held).toBeNull();
  });

  it("holds a read's request entry and writes it with the response entry in one batch, request first", async () => {
    const { log, calls } = recordingLog();
    const entry = await logRequest(log, { request: request(), token, holdUntilResponse: true });
    expect(calls).toHaveLength(0);
    await logResponse(log, { requestEntry: entry, status: 200, data: { data: { password: 'hunter2' } } });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe('logAll');
    expect(calls[0]!.events.map((e) => e.type)).toEqual(['request', 'response']);
    const [req, res] = calls[0]!.events;
    // One auth block and one request block for both entries, so the redactor HMACs them once.
    expect(res!.auth).toBe(req!.auth);
    expect(res!.request).toBe(req!.request);
    expect(entry.held).toBeNull();
  });

  it('writes a response alone when its request entry was already written', async () => {
    const { log, calls } = recordingLog();
    const entry = await logRequest(log, { request: request(), token });
    await logResponse(log, { requestEntry: entry, status: 204 });
    expect(calls.map((c) => c.method)).toEqual(['log', 'log']);
    expect(calls[1]!.events[0]).toMatchObject({ type: 'response', response: { status: 204 } });
  });

  it('records a refused caller with its error and no auth block', async () => {
    const { log, calls } = recordingLog();
    await logRequest(log, { request: request(), token: null, error: 'permission denied' });
    expect(calls[0]!.events[0]!.auth).toBeUndefined();
    expect(calls[0]!.events[0]!.error).toBe('permission denied');
  });

  it("takes a caller identity that is not a token (the KMS plugin's) for both entries", async () => {
    const { log, calls } = recordingLog();
    const identity = { display_name: 'kms-plugin', auth_method: 'kms-plugin-local', policies: ['kms-plugin'] };
    const entry = await logRequest(log, { request: request(), callerAuth: identity });
    await logResponse(log, { requestEntry: entry, status: 500, error: 'boom' });
    expect(calls[0]!.events[0]!.auth).toBe(identity);
    expect(calls[1]!.events[0]).toMatchObject({ auth: identity, response: { status: 500 }, error: 'boom' });
  });

  it("builds a login's response auth block with its new identity, keeping issued tokens and wrap info for redaction", async () => {
    const { log, calls } = recordingLog();
    const entry = await logRequest(log, { request: request(), token: null });
    await logResponse(log, {
      requestEntry: entry,
      status: 200,
      auth: { client_token: 'hvs.issued', accessor: 'acc-2', policies: ['p'], lease_duration: 60 },
      auditAuth: { display_name: 'kubernetes-ns-sa', service_account_name: 'sa', policies: ['p'] },
      wrapInfo: {
        token: 'hvs.wrap',
        accessor: 'acc-w',
        ttl: 60,
        creation_time: '2025-01-01T00:00:00Z',
        creation_path: 'auth/k8s/login',
      },
    });
    const event = calls[1]!.events[0]!;
    expect(event.auth).toEqual({
      display_name: 'kubernetes-ns-sa',
      policies: ['p'],
      metadata: { service_account_name: 'sa' },
    });
    expect(event.response!.auth).toEqual({ client_token: 'hvs.issued', accessor: 'acc-2', policies: ['p'] });
    expect(event.response!.wrap_info).toMatchObject({
      token: 'hvs.wrap',
      accessor: 'acc-w',
      ttl: 60,
      creation_path: 'auth/k8s/login',
    });
  });

  it('names clear scalars only when there is data', async () => {
    const { log, calls } = recordingLog();
    const entry = await logRequest(log, { request: request(), token });
    await logResponse(log, { requestEntry: entry, status: 200, clearData: ['version'] });
    await logResponse(log, { requestEntry: entry, status: 200, data: { version: 3 }, clearData: ['version'] });
    expect(calls[1]!.events[0]!.response!.clear_data).toBeUndefined();
    expect(calls[2]!.events[0]!.response!.clear_data).toEqual(['version']);
  });

  it('fails closed: rejects when the request entry or the batch cannot be written', async () => {
    const failure = new StrongroomError('unavailable', 'disk full');
    const { log } = recordingLog(failure);
    await expect(logRequest(log, { request: request(), token })).rejects.toBe(failure);
    const held = await logRequest(log, { request: request(), token, holdUntilResponse: true });
    await expect(logResponse(log, { requestEntry: held, status: 200 })).rejects.toBe(failure);
  });

  it('auditAuthOf: nothing without a token or an identity', () => {
    expect(auditAuthOf(null)).toBeUndefined();
  });

  it("carries the token's identity entity and display name, and a login's new entity", () => {
    const caller = {
      accessor: 'a1',
      displayName: 'kubernetes-payments-api',
      policies: ['default'],
      authMethod: 'kubernetes',
      meta: {},
    };
    expect(auditAuthOf({ ...caller, entityId: 'e-1' })).toMatchObject({
      entity_id: 'e-1',
      display_name: 'kubernetes-payments-api',
    });
    expect(auditAuthOf({ ...caller, entityId: '' })).not.toHaveProperty('entity_id');
    const login = auditAuthOf(null, { display_name: 'approle-ci', entity_id: 'e-2', role_name: 'ci' });
    expect(login).toEqual({ display_name: 'approle-ci', entity_id: 'e-2', metadata: { role_name: 'ci' } });
  });
});

describe('audit broker: fan-out to devices', () => {
  const redactor = createRedactor(randomBytes(32));

  it('redacts before any device sees an entry, once for all devices', async () => {
    const a = memorySink();
    const b = memorySink();
    const log = deviceLog(
      redactor,
      new Map([
        ['a/', { sink: a.sink }],
        ['b/', { sink: b.sink }],
      ]),
    );
    const entry = await logRequest(log, { request: request(), token, holdUntilResponse: true });
    await logResponse(log, { requestEntry: entry, status: 200, data: { password: 'hunter2' } });
    expect(a.appended).toHaveLength(1);
    const written = JSON.stringify(a.appended);
    expect(written).not.toContain('hunter2');
    expect(written).not.toContain('hvs.the-client-token');
    expect(written).not.toContain('accessor-1');
    expect(a.appended[0]![0]!.request.client_token).toBe(redactor.hash('hvs.the-client-token'));
    expect(a.appended[0]![1]!.response!.data!.password!).toMatch(new RegExp(`^${HMAC_PREFIX}`));
    // Both devices got the very same redacted entries, in order: redacted once, then fanned out.
    expect(b.appended[0]![0]).toBe(a.appended[0]![0]);
    expect(b.appended[0]![1]).toBe(a.appended[0]![1]);
    expect(a.appended[0]!.map((e) => e.type)).toEqual(['request', 'response']);
  });

  it('writes nothing, and succeeds, with no device (as Vault)', async () => {
    await expect(
      fanOut(redactor, new Map(), [{ type: 'request', time: '', request: request() }]),
    ).resolves.toBeUndefined();
  });

  it('fails closed when one device of several fails, naming it, while the others still write', async () => {
    const good = memorySink();
    const bad = memorySink(new Error('disk full'));
    const devices = new Map([
      ['good/', { sink: good.sink }],
      ['bad/', { sink: bad.sink }],
    ]);
    const err = await fanOut(redactor, devices, [{ type: 'request', time: '', request: request() }]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StrongroomError);
    expect(err).toMatchObject({ kind: 'unavailable', message: 'disk full', details: { failedDevices: ['bad/'] } });
    expect(good.appended).toHaveLength(1);
  });

  it('fails closed with a single device too', async () => {
    const bad = memorySink(new Error('refused'));
    const err = await fanOut(redactor, new Map([['only/', { sink: bad.sink }]]), [
      { type: 'request', time: '', request: request() },
    ]).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', message: 'refused', details: { failedDevices: ['only/'] } });
  });
});
