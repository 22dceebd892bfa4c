import { describe, expect, it } from 'vitest';
import type { Control } from '../../shared/cluster-summary.js';
import type { ExternalSecret } from '../api/external-secret.js';
import { RolloutControlRefused } from '../rollout/request.js';
import { refuseUnlessOurs } from './index.js';

const control = (over: Partial<Control> = {}): Control => ({
  id: 'c1',
  cluster: 'prod',
  namespace: 'shop',
  external_secret: 'db',
  action: 'pause',
  state: 'queued',
  requested_by: 'alice',
  requested_at: '2026-12-07T00:00:00Z',
  ...over,
});
const caches = [{ metadata: { namespace: 'shop', name: 'db' } }] as unknown as ExternalSecret[];

describe('controls the operator accepts from the store', () => {
  it('acts on its own cluster’s ExternalSecrets with a known action', () => {
    expect(() => refuseUnlessOurs(control(), 'prod', caches)).not.toThrow();
  });

  it('refuses another cluster’s control, an unknown action and an ExternalSecret it does not have', () => {
    expect(() => refuseUnlessOurs(control({ cluster: 'dev' }), 'prod', caches)).toThrow(RolloutControlRefused);
    expect(() => refuseUnlessOurs(control({ action: 'delete' as Control['action'] }), 'prod', caches)).toThrow(
      /unknown action "delete"/,
    );
    expect(() => refuseUnlessOurs(control({ external_secret: 'other' }), 'prod', caches)).toThrow(
      'ExternalSecret shop/other does not exist in cluster "prod"',
    );
  });
});
