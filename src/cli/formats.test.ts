import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseDocuments, parseDotenv, toDotenv } from './formats.js';

describe('dotenv', () => {
  it('parses export, comments, quotes, escapes and multi-line values', () => {
    const text = [
      '# a comment',
      'export A=plain value # trailing comment',
      "B='literal $HOME \\n'",
      'C="line1\\nline2 \\"q\\""',
      'D="spans',
      'two lines"',
      'E=',
      '',
    ].join('\n');
    expect(parseDotenv(text)).toEqual({
      A: 'plain value',
      B: 'literal $HOME \\n',
      C: 'line1\nline2 "q"',
      D: 'spans\ntwo lines',
      E: '',
    });
  });

  it('names the line of an error, never the value', () => {
    const err = (() => {
      try {
        parseDotenv('OK=1\nnot a pair with s3cr3t\n', 'app.env');
      } catch (e) {
        return e as UsageError;
      }
      throw new Error('expected an error');
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe('app.env line 2 is not KEY=VALUE');
    expect(() => parseDotenv('K="never closed\n')).toThrow(/never closed/);
  });

  it('round-trips any keys and values through toDotenv', () => {
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
    fc.assert(
      fc.property(fc.dictionary(key, fc.string({ unit: 'binary' })), (data) => {
        expect(parseDotenv(toDotenv(data))).toEqual(data);
      }),
      { numRuns: 300 },
    );
  });
});

describe('JSON and YAML documents', () => {
  it('decodes Kubernetes Secrets (data base64, stringData wins) across multi-document YAML and Lists', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const yaml = `apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {user: ${b64('admin')}, pw: ${b64('x')}}\nstringData: {pw: y}\n---\nkind: List\napiVersion: v1\nitems:\n  - {apiVersion: v1, kind: Secret, metadata: {name: a}, stringData: {k: v}}\n`;
    expect(parseDocuments(yaml, 'yaml', 's.yaml').map((s) => [s.path, s.data])).toEqual([
      ['db', { user: 'admin', pw: 'y' }],
      ['a', { k: 'v' }],
    ]);
    expect(() =>
      parseDocuments('kind: Secret\napiVersion: v1\nmetadata: {name: c}\ndata: {k: "%%%"}\n', 'yaml', 'c.yaml'),
    ).toThrow(/not base64/);
  });

  it('skips documents that are not Secrets, naming each, and keeps the Secrets around them', () => {
    const skipped: string[] = [];
    const bundle = [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {pw: x}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}',
    ].join('\n---\n');
    expect(parseDocuments(bundle, 'yaml', 'app.yaml', (what) => skipped.push(what)).map((s) => s.path)).toEqual(['db']);
    expect(skipped).toEqual([
      'app.yaml document 1 (Deployment web): not a Secret',
      'app.yaml document 3 (ConfigMap cfg): not a Secret',
    ]);
    // A file of nothing but other kinds yields no secrets (the import then says the file holds none).
    expect(parseDocuments('kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\n', 'yaml', 'c.yaml')).toEqual([]);
  });

  it("puts a Secret's namespace in its path, so one name in two namespaces lands in two places", () => {
    const two = [
      'apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: one}\nstringData: {k: "1"}',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: two}\nstringData: {k: "2"}',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: "3"}',
    ].join('\n---\n');
    expect(parseDocuments(two, 'yaml', 's.yaml').map((s) => [s.path, s.data])).toEqual([
      ['one/a', { k: '1' }],
      ['two/a', { k: '2' }],
      ['a', { k: '3' }],
    ]);
    expect(() =>
      parseDocuments('kind: Secret\napiVersion: v1\nmetadata: {name: a, namespace: ../x}\n', 'yaml', 's.yaml'),
    ).toThrow(/not a namespace name/);
  });

  it('reads path maps and flat single secrets named after the file', () => {
    expect(parseDocuments('{"a/b": {"k": "v"}, "c": {"n": 1}}', 'json', 'x.json').map((s) => s.path)).toEqual([
      'a/b',
      'c',
    ]);
    expect(parseDocuments('host: h\nport: 1\n', 'yaml', 'dir/db.yml')).toEqual([
      { path: 'db', data: { host: 'h', port: 1 }, source: 'dir/db.yml' },
    ]);
    expect(() => parseDocuments('{', 'json', 'bad.json')).toThrow(/not valid JSON/);
  });

  it('never quotes the file content in a JSON syntax error (it is the secret being imported)', () => {
    for (const text of ['hunter2-s3cret', '{"pw": hunter2-s3cret}', '{"pw": "hunter2-s3cret"\n  "x": 1}']) {
      let message = '';
      try {
        parseDocuments(text, 'json', 'secrets.json');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^secrets\.json is not valid JSON/);
      expect(message).not.toContain('hunter2');
    }
    expect(() => parseDocuments('{"pw": "v"\n  "x": 1}', 'json', 'a.json')).toThrow(
      'a.json is not valid JSON (line 2, column 3)',
    );
  });
});
