import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderStatement, splitStatements, sqlTimestamp } from './statements.js';

describe('splitStatements', () => {
  it("splits on ';' as Vault does, keeping quoted and dollar-quoted semicolons", () => {
    expect(splitStatements(`CREATE ROLE "a;b" LOGIN; GRANT x TO "a;b";`)).toEqual([
      'CREATE ROLE "a;b" LOGIN',
      'GRANT x TO "a;b"',
    ]);
    expect(splitStatements(`DO $$ BEGIN PERFORM 1; END $$; SELECT 'it''s;'`)).toEqual([
      'DO $$ BEGIN PERFORM 1; END $$',
      "SELECT 'it''s;'",
    ]);
    expect(splitStatements(`DO $t$ a; $$ b; $t$`)).toEqual([`DO $t$ a; $$ b; $t$`]);
    expect(splitStatements(' ; ;')).toEqual([]);
  });

  it('never loses non-blank text between separators (property)', () => {
    const piece = fc.stringMatching(/^[A-Za-z0-9 ]{1,12}$/).filter((s) => s.trim() !== '');
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 6 }), (pieces) => {
        expect(splitStatements(pieces.join(';'))).toEqual(pieces.map((p) => p.trim()));
      }),
    );
  });
});

describe('renderStatement', () => {
  it('substitutes name, username, password and expiration, leaving unknown placeholders', () => {
    const out = renderStatement(
      `CREATE ROLE "{{name}}" PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' -- {{username}} {{other}}`,
      { name: 'v-a', password: 'p$&w', expiration: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) },
      sqlTimestamp,
    );
    expect(out).toBe(`CREATE ROLE "v-a" PASSWORD 'p$&w' VALID UNTIL '2030-01-02 03:04:05+0000' -- v-a {{other}}`);
  });
});
