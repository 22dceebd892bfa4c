import type { AuditEvent } from './types.js';

/** A plausible response event for tests; `n` varies the request id and path. */
export function sampleEvent(n = 0, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    type: 'response',
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, n)).toISOString(),
    auth: {
      accessor: `accessor-${n % 3}`,
      display_name: `token-app-${n % 3}`,
      policies: ['default', 'app'],
      token_type: 'service',
      auth_method: 'token',
    },
    request: {
      id: `req-${n}`,
      operation: n % 2 === 0 ? 'read' : 'update',
      path: `secret/data/app/${n}`,
      mount_type: 'kv',
      remote_address: '10.0.0.1',
      client_token: `hvs.client-token-${n}`,
    },
    response: { status: 200, data: { data: { password: `value-${n}` } } },
    ...overrides,
  };
}
