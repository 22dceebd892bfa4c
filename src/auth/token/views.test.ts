import { describe, expect, it } from 'vitest';
import type { TokenInfo } from '../types.js';
import { lookupData } from './views.js';

const info: TokenInfo = {
  accessor: 'acc',
  policies: ['default', 'reader'],
  displayName: 'token',
  authMethod: 'token',
  meta: {},
  parentAccessor: null,
  orphan: true,
  renewable: true,
  ttl: 600,
  creationTtl: 3600,
  explicitMaxTtl: 7200,
  period: 0,
  numUses: 0,
  creationTime: 1_700_000_000_000,
  expireTime: Date.now() + 600_000,
  issueTime: 1_700_000_000_000,
  path: 'auth/token/create/deploy',
  entityId: '',
  role: 'deploy',
  boundCidrs: ['10.0.0.0/8'],
};

describe('token lookup data (Vault wire form)', () => {
  it('reports creation_ttl as what was granted and ttl as what is left, both whole seconds', () => {
    const data = lookupData('', info);
    expect(data.creation_ttl).toBe(3600);
    expect(data.ttl).toBeGreaterThan(590);
    expect(data.ttl).toBeLessThanOrEqual(600);
    expect(data.explicit_max_ttl).toBe(7200);
    expect(data.creation_time).toBe(1_700_000_000);
  });

  it('shows role and bound_cidrs only when set, as Vault does', () => {
    expect(lookupData('', info)).toMatchObject({ role: 'deploy', bound_cidrs: ['10.0.0.0/8'] });
    const plain = lookupData('', { ...info, role: '', boundCidrs: [] });
    expect(plain).not.toHaveProperty('role');
    expect(plain).not.toHaveProperty('bound_cidrs');
  });

  it("shows period only for a periodic token, in seconds, and explicit_max_ttl 0 when none (Vault's token store)", () => {
    const root = lookupData('s.root', {
      ...info,
      policies: ['root'],
      explicitMaxTtl: 0,
      creationTtl: 0,
      expireTime: 0,
      role: '',
      boundCidrs: [],
    });
    expect(root).not.toHaveProperty('period');
    expect(root).toMatchObject({
      explicit_max_ttl: 0,
      expire_time: null,
      ttl: 0,
      creation_ttl: 0,
      meta: null,
      id: 's.root',
    });
    expect(lookupData('', { ...info, period: 3600 }).period).toBe(3600);
    // Exactly the keys Vault's token store gives a token without role, CIDR binding or entity.
    expect(Object.keys(root).sort()).toEqual([
      'accessor',
      'creation_time',
      'creation_ttl',
      'display_name',
      'entity_id',
      'expire_time',
      'explicit_max_ttl',
      'id',
      'issue_time',
      'meta',
      'num_uses',
      'orphan',
      'path',
      'policies',
      'renewable',
      'ttl',
      'type',
    ]);
  });
});
