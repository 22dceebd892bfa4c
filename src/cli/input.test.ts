import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractVaultFlags, parseKeyValues, parseVersions } from './input.js';
import { parseWhen } from './audit.js';

describe('key=value arguments', () => {
  it('reads literals and @file values (one trailing newline dropped)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-input-'));
    writeFileSync(join(dir, 'pem'), '-----BEGIN-----\nabc\n-----END-----\n');
    expect(await parseKeyValues(['a=1', 'b=x=y', `c=@${join(dir, 'pem')}`, 'd='])).toEqual({
      a: '1',
      b: 'x=y',
      c: '-----BEGIN-----\nabc\n-----END-----',
      d: '',
    });
  });

  it('rejects malformed pairs, duplicate keys and two stdin values without quoting values', async () => {
    await expect(parseKeyValues(['=hidden-value'])).rejects.toThrow('argument 1 is not KEY=VALUE');
    await expect(parseKeyValues(['k=hidden-value', 'k=other'])).rejects.toThrow('field "k" is given twice');
    await expect(parseKeyValues(['a=-', 'b=-'])).rejects.toThrow(/only one value can come from stdin/);
    await expect(parseKeyValues(['a=@/does/not/exist'])).rejects.toThrow(
      /cannot read file \/does\/not\/exist \(ENOENT\)/,
    );
  });
});

describe('flags', () => {
  it('accepts Vault single-dash long flags', () => {
    expect(
      extractVaultFlags(['-method=approle', 'role_id=x', '--path=ar', '-accessor'], ['method', 'path', 'accessor']),
    ).toEqual({
      flags: { method: 'approle', path: 'ar', accessor: true },
      rest: ['role_id=x'],
    });
  });

  it('parses version lists', () => {
    expect(parseVersions(['3,1', '2', '1'])).toEqual([1, 2, 3]);
    expect(() => parseVersions('1,x')).toThrow(/positive whole number/);
  });

  it('parses --since as a duration ago or RFC 3339', () => {
    const now = Date.parse('2025-01-08T00:00:00Z');
    expect(parseWhen('7d', '--since', now)).toBe(Date.parse('2025-01-01T00:00:00Z'));
    expect(parseWhen('30m', '--since', now)).toBe(now - 30 * 60_000);
    expect(parseWhen('2025-01-02T03:04:05Z', '--since', now)).toBe(Date.parse('2025-01-02T03:04:05Z'));
    expect(() => parseWhen('yesterday', '--since', now)).toThrow(/neither a duration ago nor an RFC 3339 time/);
  });
});
