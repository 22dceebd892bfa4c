import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { confirmInsideAllowedDirs, parseFileDeviceOptions } from './file-options.js';

const root = mkdtempSync(join(tmpdir(), 'strongroom-file-options-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const allowed = join(root, 'audit');
const ctx = { nodeName: 'node-a', allowedDirs: [allowed] };
const parse = (options: Record<string, string>) => parseFileDeviceOptions(options, ctx);

describe('file audit device options', () => {
  it("accepts Vault's options with the values that keep entries verifiable and redacted", () => {
    expect(
      parse({
        file_path: join(allowed, 'a.log'),
        mode: '0640',
        format: 'json',
        prefix: '',
        log_raw: 'false',
        hmac_accessor: 'true',
        elide_list_responses: 'T',
      }),
    ).toEqual({ target: { kind: 'file', path: join(allowed, 'a.log') }, mode: 0o640, elideListResponses: true });
    expect(parse({ file_path: 'stdout' }).target).toEqual({ kind: 'stdout' });
    expect(parse({ file_path: 'discard' }).target).toEqual({ kind: 'discard' });
    expect(parse({ file_path: join(allowed, 'a.log'), mode: '0000' }).mode).toBe(0);
  });

  it('refuses every other value by name, with the reason', () => {
    const file = join(allowed, 'a.log');
    expect(() => parse({})).toThrow(/needs the option file_path/);
    expect(() => parse({ file_path: 'a.log' })).toThrow(/absolute/);
    expect(() => parse({ file_path: file, mode: '0755' })).toThrow(/executable/);
    expect(() => parse({ file_path: file, mode: '0400' })).toThrow(/owner read and write/);
    expect(() => parse({ file_path: file, mode: '600x' })).toThrow(/octal/);
    expect(() => parse({ file_path: file, format: 'jsonx' })).toThrow(/only "json"/);
    expect(() => parse({ file_path: file, prefix: 'x' })).toThrow(/prefix/);
    expect(() => parse({ file_path: file, log_raw: 'true' })).toThrow(/log_raw/);
    expect(() => parse({ file_path: file, hmac_accessor: 'false' })).toThrow(/hmac_accessor/);
    expect(() => parse({ file_path: file, log_raw: 'yes' })).toThrow(/true or false/);
    expect(() => parse({ file_path: file, filter: 'x' })).toThrow(/Enterprise/);
    expect(() => parse({ file_path: file, colour: 'x' })).toThrow(/unsupported option "colour"/);
    expect(() => parse({ file_path: `${allowed}${sep}` })).toThrow(/outside|not a directory/);
  });

  it('replaces {node} with the node name', () => {
    expect(parse({ file_path: join(allowed, 'audit-{node}.log') }).target).toEqual({
      kind: 'file',
      path: join(allowed, 'audit-node-a.log'),
    });
  });

  it('property: a path is accepted only when it normalizes to a place strictly inside an allowed directory', () => {
    const segment = fc.constantFrom('..', '.', 'audit', 'x', 'audit2', '', '{node}', 'sub');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segments) => {
        const raw = `${root}/${segments.join('/')}`;
        const expanded = normalize(raw.split('{node}').join('node-a'));
        const inside = expanded.startsWith(`${allowed}${sep}`) && !expanded.endsWith(sep);
        let accepted = true;
        try {
          parse({ file_path: raw });
        } catch {
          accepted = false;
        }
        expect(accepted).toBe(inside);
      }),
    );
  });

  it('follows symbolic links when confining: a link out of the audit directory is refused', async () => {
    mkdirSync(allowed, { recursive: true });
    const outside = join(root, 'elsewhere');
    mkdirSync(outside, { recursive: true });
    symlinkSync(outside, join(allowed, 'escape'));
    const through = join(allowed, 'escape', 'a.log');
    expect(parse({ file_path: through }).target).toEqual({ kind: 'file', path: through }); // lexically inside
    await expect(confirmInsideAllowedDirs(through, [allowed])).rejects.toThrow(/outside/);
    await expect(confirmInsideAllowedDirs(join(allowed, 'new', 'deeper', 'a.log'), [allowed])).resolves.toBeUndefined();
  });

  it('with no audit directory configured, file devices through sys/audit are refused; configuration is not confined', () => {
    expect(() =>
      parseFileDeviceOptions({ file_path: join(allowed, 'a.log') }, { nodeName: 'n', allowedDirs: [] }),
    ).toThrow(/disabled/);
    expect(
      parseFileDeviceOptions({ file_path: '/var/log/x.log' }, { nodeName: 'n', allowedDirs: null }).target,
    ).toEqual({ kind: 'file', path: '/var/log/x.log' });
  });
});
