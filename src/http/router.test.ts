import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../logical/backend.js';
import { compileBackend, matchPath } from './router.js';

const backend: Backend = {
  paths: [
    { name: 'kv.config', pattern: 'config', operations: {} },
    { name: 'kv.data', pattern: 'data/(?<path>.+)', operations: {} },
    { name: 'kv.metadata', pattern: 'metadata/?(?<path>.*)', operations: {} },
    { name: 'kv.optional', pattern: 'opt(?:/(?<name>[^/]+))?', operations: {} },
  ],
};
const compiled = compileBackend(backend, 'kv');

describe('matchPath', () => {
  it('returns the first path whose pattern matches the whole rest, with its named groups as params', () => {
    expect(matchPath(compiled, 'config')).toMatchObject({ path: { name: 'kv.config' } });
    expect(matchPath(compiled, 'config/x')).toBeNull();
    const data = matchPath(compiled, 'data/team/app');
    expect(data?.path.name).toBe('kv.data');
    expect(data?.params.path).toBe('team/app');
    expect(matchPath(compiled, 'metadata')?.params.path).toBe('');
  });

  it('gives a group that did not take part the value undefined, and a pattern without groups no params', () => {
    const optional = matchPath(compiled, 'opt');
    expect(optional?.path.name).toBe('kv.optional');
    expect(Object.keys(optional!.params)).toEqual(['name']);
    expect(optional?.params.name).toBeUndefined();
    expect(Object.keys(matchPath(compiled, 'config')!.params)).toEqual([]);
  });

  it('never resolves a param through Object.prototype', () => {
    const params = matchPath(compiled, 'data/x')!.params;
    expect(params.toString).toBeUndefined();
    expect(params.constructor).toBeUndefined();
    expect(matchPath(compiled, 'config')!.params.hasOwnProperty).toBeUndefined();
  });

  it('captures any secret path after data/ exactly, and separate matches never share params', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 6 }),
        fc.array(segment, { minLength: 1, maxLength: 6 }),
        (a, b) => {
          const first = matchPath(compiled, `data/${a.join('/')}`)!;
          const second = matchPath(compiled, `data/${b.join('/')}`)!;
          expect(first.params.path).toBe(a.join('/'));
          expect(second.params.path).toBe(b.join('/'));
          expect(first.params).not.toBe(second.params);
        },
      ),
    );
  });
});

describe('compileBackend', () => {
  it('refuses a path that declares the secret data it touches but skips the ACL (the declaration would check nothing)', () => {
    const dataAccess = () => [{ path: 'secret/data/x', capabilities: ['read' as const] }];
    for (const flags of [{ skipAcl: true }, { unauthenticated: true }]) {
      const unsafe: Backend = { paths: [{ name: 'kv.leak', pattern: 'leak', operations: {}, dataAccess, ...flags }] };
      expect(() => compileBackend(unsafe, 'kv')).toThrow(/dataAccess/);
    }
    expect(() => compileBackend({ paths: [{ pattern: 'ok', operations: {}, dataAccess }] }, 'kv')).not.toThrow();
  });
});
