import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientNonceMatches, redirectAllowed, stateHash } from './oidc-flow.js';

describe('redirectAllowed (Vault’s validRedirect)', () => {
  const allowed = [
    'https://app.example/cb',
    'http://localhost:8250/oidc/callback',
    'http://127.0.0.1:8250/oidc/callback',
  ];

  it('is exact (case-insensitive) for ordinary URIs', () => {
    expect(redirectAllowed('https://app.example/cb', allowed)).toBe(true);
    expect(redirectAllowed('HTTPS://APP.EXAMPLE/cb', allowed)).toBe(true);
    expect(redirectAllowed('https://app.example/cb/', allowed)).toBe(false);
    expect(redirectAllowed('https://app.example:8443/cb', allowed)).toBe(false);
    expect(redirectAllowed('https://app.example/cb?x=1', allowed)).toBe(false);
    expect(redirectAllowed('not a url', allowed)).toBe(false);
  });

  it('ignores only the port of loopback URIs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (port) => {
        expect(redirectAllowed(`http://localhost:${port}/oidc/callback`, allowed)).toBe(true);
        expect(redirectAllowed(`http://127.0.0.1:${port}/oidc/callback`, allowed)).toBe(true);
        expect(redirectAllowed(`http://localhost:${port}/other`, allowed)).toBe(false);
        expect(redirectAllowed(`https://localhost:${port}/oidc/callback`, allowed)).toBe(false);
      }),
    );
  });
});

describe('state and client nonce', () => {
  it('stores states hashed; a client nonce is checked only when one was given', () => {
    expect(stateHash('abc')).toMatch(/^[0-9a-f]{64}$/);
    expect(stateHash('abc')).not.toBe(stateHash('abd'));
    expect(clientNonceMatches('', undefined)).toBe(true);
    expect(clientNonceMatches('n', 'n')).toBe(true);
    expect(clientNonceMatches('n', undefined)).toBe(false);
    expect(clientNonceMatches('n', 'm')).toBe(false);
  });
});
