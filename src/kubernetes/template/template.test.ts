import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TemplateError, parse, render } from './template.js';

describe('template language', () => {
  const data = { user: 'admin', password: ' s3cret ', config: '{"db":{"host":"pg"},"port":5432}', cert: 'LS0t' };

  it('substitutes fields and applies whitelisted functions through pipes', () => {
    expect(render('u={{ .user }} p={{ .password | trim | upper }}', data)).toBe('u=admin p=S3CRET');
    expect(render('{{ .config | fromJson | get "db" | get "host" }}:{{ .config | fromJson | get "port" }}', data)).toBe(
      'pg:5432',
    );
    expect(render('{{ b64enc .user }}|{{ .user | b64enc | b64dec }}', data)).toBe('YWRtaW4=|admin');
    expect(render('{{ .user | quote }} {{ "x" | default "y" }} {{ "" | default "y" }}', data)).toBe('"admin" x y');
    expect(render('{{ .user | replace "a" "A" }}{{ .user | nindent 2 }}', data)).toBe('Admin\n  admin');
    expect(render('{{ .user | sha256sum }}', data)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses fromJson input nested too deeply, with a message that says so (a remote value is untrusted)', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(() => render('{{ .v | fromJson | toJson }}', { v: deep })).toThrow(
      /fromJson: input is nested deeper than 100 levels/,
    );
    const ok = `${'['.repeat(100)}1${']'.repeat(100)}`;
    expect(render('{{ .v | fromJson | toJson }}', { v: ok })).toBe(ok);
  });

  it('builds a dockerconfigjson from parts', () => {
    const out = render(
      '{"auths":{"{{ .registry }}":{"auth":"{{ printf }}"}}}'.replace('{{ printf }}', '{{ .creds | b64enc }}'),
      { registry: 'ghcr.io', creds: 'u:p' },
    );
    expect(JSON.parse(out)).toEqual({ auths: { 'ghcr.io': { auth: 'dTpw' } } });
  });

  it('refuses prototype access, unknown functions and missing keys', () => {
    expect(() => render('{{ .__proto__ }}', data)).toThrow(TemplateError);
    expect(() => render('{{ .constructor }}', data)).toThrow(/no key/);
    expect(() => render('{{ .config | fromJson | get "__proto__" }}', data)).toThrow(TemplateError);
    expect(() => render('{{ .user.toString }}', data)).toThrow(TemplateError);
    expect(() => render('{{ exec "ls" }}', data)).toThrow(/unknown function "exec"/);
    expect(() => render('{{ .missing }}', data)).toThrow(/no key "missing"/);
    expect(() => render('{{ .user ', data)).toThrow(/unclosed/);
    expect(() => render('{{ }}', data)).toThrow(/empty/);
  });

  it('bounds template size and output size', () => {
    expect(() => parse('x'.repeat(64 * 1024 + 1))).toThrow(/larger than/);
    const big = { v: 'x'.repeat(300_000) };
    expect(() => render('{{ .v | b64enc | b64enc | b64enc }}{{ .v | b64enc | b64enc | b64enc }}', big)).toThrow(
      /output larger/,
    );
  });

  it('property: text without braces renders to itself', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('{{')),
        (s) => {
          expect(render(s, {})).toBe(s);
        },
      ),
    );
  });

  it('property: the parser either parses or throws a TemplateError, never anything else', () => {
    const alphabet = fc.constantFrom(
      '{{',
      '}}',
      '|',
      '.',
      '"',
      ' ',
      'a',
      '.key',
      'upper',
      'get',
      '\\',
      '1',
      '__proto__',
      'x',
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 30 }), (parts) => {
        const src = parts.join('');
        try {
          render(src, { key: 'v', a: 'b' });
        } catch (err) {
          expect(err).toBeInstanceOf(TemplateError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('property: b64dec inverts b64enc and quote produces a JSON string of the value', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(render('{{ .v | b64enc | b64dec }}', { v: s })).toBe(
          Buffer.from(Buffer.from(s, 'utf8').toString('base64'), 'base64').toString('utf8'),
        );
        expect(JSON.parse(render('{{ .v | quote }}', { v: s }))).toBe(s);
      }),
    );
  });

  it('property: field values are inserted verbatim, even when they look like template syntax', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(render('[{{ .v }}]', { v: s })).toBe(`[${s}]`);
      }),
    );
  });
});
