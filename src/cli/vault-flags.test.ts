import { describe, expect, it } from 'vitest';
import { formatFromVaultFlag, nearest, normalizeVaultArgv } from './vault-flags.js';

describe("Vault's single-dash flags", () => {
  it('rewrites -name and -name=value to double dashes, for multi-letter names only', () => {
    expect(normalizeVaultArgv(['kv', 'get', '-field=password', '-format', 'json', '-mount=secret', 'app/db'])).toEqual([
      'kv',
      'get',
      '--field=password',
      '--format',
      'json',
      '--mount=secret',
      'app/db',
    ]);
    expect(normalizeVaultArgv(['server', '-dev', '-dev-root-token=root', '-tls-skip-verify'])).toEqual([
      'server',
      '--dev',
      '--dev-root-token=root',
      '--tls-skip-verify',
    ]);
  });

  it('leaves one-letter flags, stdin, values, key=value pairs and everything after -- alone', () => {
    const args = ['write', '-o', 'json', '-f', 'x/y', '-', 'k=-value', '--field', 'a', '--', '-literal', '-x=1'];
    expect(normalizeVaultArgv(args)).toEqual(args);
    expect(normalizeVaultArgv(['-5', '-1h'])).toEqual(['-5', '-1h']);
  });

  it('maps -format=json to Vault JSON and keeps the others', () => {
    expect(formatFromVaultFlag('json')).toBe('vault-json');
    expect(formatFromVaultFlag('JSON')).toBe('vault-json');
    expect(formatFromVaultFlag('yaml')).toBe('yaml');
    expect(formatFromVaultFlag('table')).toBe('table');
  });
});

describe('nearest', () => {
  it('suggests the closest name for a typo, a swapped pair, a missing letter', () => {
    expect(nearest('feild', ['field', 'format', 'force'])).toBe('field');
    expect(nearest('adress', ['address', 'token'])).toBe('address');
    expect(nearest('mthod', ['method', 'path', 'mfa'])).toBe('method');
  });

  it('suggests nothing for a word unlike every candidate', () => {
    expect(nearest('zebra', ['field', 'format'])).toBeUndefined();
    expect(nearest('x', [])).toBeUndefined();
  });
});
