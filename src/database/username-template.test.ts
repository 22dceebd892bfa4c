import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import { mysqlPlugin } from './plugins/mysql.js';
import { postgresqlPlugin } from './plugins/postgresql.js';
import { compileUsernameTemplate } from './username-template.js';

const now = new Date(Date.UTC(2026, 11, 7, 13, 4, 5, 678));
const render = (source: string, DisplayName = 'token', RoleName = 'app') =>
  compileUsernameTemplate(source).render({ DisplayName, RoleName }, now);

describe('username templates', () => {
  it("renders Vault's default PostgreSQL and MySQL templates within their length limits", () => {
    const pg = render(postgresqlPlugin.defaults.usernameTemplate, 'kubernetes-prod-payments', 'readonly-role');
    expect(pg).toMatch(/^v-kubernet-readonly-[A-Za-z0-9]{20}-\d+$/);
    const my = render(mysqlPlugin.defaults.usernameTemplate, 'kubernetes-prod-payments', 'readonly-role');
    expect(my).toHaveLength(32);
    expect(my).toMatch(/^v-kubernetes-readonly-r-[A-Za-z0-9]{8}$/);
  });

  it('supports the functions, pipes, parentheses and trim markers', () => {
    expect(render('{{.RoleName | uppercase}}')).toBe('APP');
    expect(render('{{ "ABC" | lowercase }}')).toBe('abc');
    expect(render('{{ replace "-" "_" .DisplayName }}', 'a-b-c')).toBe('a_b_c');
    expect(render('{{ .DisplayName | replace "-" "_" | truncate 3 }}', 'a-b-c')).toBe('a_b');
    expect(render('{{ unix_time }}/{{ unix_time_millis }}')).toBe(
      `${Math.floor(now.getTime() / 1000)}/${now.getTime()}`,
    );
    expect(render('{{ timestamp "2006-01-02T15:04:05Z07:00" }}')).toBe('2026-12-07T13:04:05Z');
    expect(render('{{ uuid }}')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(render('{{ printf "%s-%d-%%" (.RoleName | truncate 2) 42 }}')).toBe('ap-42-%');
    expect(render('x  {{- .RoleName -}}  y')).toBe('xappy');
    expect(render('{{ `raw"q` }}')).toBe('raw"q');
    expect(render('{{ random 12 }}')).toMatch(/^[A-Za-z0-9]{12}$/);
  });

  it('refuses malformed templates with a parse error', () => {
    for (const bad of [
      '{{ .RoleName',
      '{{ nope }}',
      '{{ .Other }}',
      '{{ }}',
      '{{ (truncate 3 .RoleName }}',
      '{{ "x }}',
      '{{ .RoleName | }}',
    ]) {
      let err: unknown;
      try {
        render(bad);
      } catch (e) {
        err = e;
      }
      expect(isStrongroomError(err, 'invalid'), bad).toBe(true);
      expect((err as Error).message).toMatch(/^unable to parse username template: /);
    }
    expect(() => render('{{ truncate "x" .RoleName }}')).toThrow(/non-negative integer/);
  });

  it('plain text without actions renders unchanged (property)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('{{')),
        (text) => {
          expect(render(text)).toBe(text);
        },
      ),
    );
  });

  it('truncate never exceeds its bound and is a prefix (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._-]{0,80}$/), fc.nat(70), (name, n) => {
        const out = render(`{{ .DisplayName | truncate ${n} }}`, name);
        expect(out.length).toBeLessThanOrEqual(n);
        expect(name.startsWith(out)).toBe(true);
      }),
    );
  });

  it('a quoted literal round-trips whatever it holds (property)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('`')),
        (text) => {
          expect(render(`a{{ \`${text}\` }}b`)).toBe(`a${text}b`);
        },
      ),
    );
  });

  it('arbitrary input either compiles or fails with a parse error, never anything else (property)', () => {
    const alphabet = fc.constantFrom('{{', '}}', '(', ')', '|', '"', ' ', '.RoleName', 'truncate', '3', 'x', '-', '`');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 20 }), (pieces) => {
        try {
          const out = render(pieces.join(''));
          expect(typeof out).toBe('string');
        } catch (err) {
          expect(isStrongroomError(err, 'invalid')).toBe(true);
        }
      }),
    );
  });
});
