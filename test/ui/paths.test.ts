import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../ui/src/api/errors.js';
import { encodePath } from '../../ui/src/api/paths.js';
import { secretLink } from '../../ui/src/views/clusters/model.js';

/*
 * The console builds API URLs and page links from data (route segments, names an operator reported). Whatever the
 * data, the URL the browser resolves must name exactly the path shown — never another endpoint.
 */
const segment = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '.' && s !== '..' && !s.includes('/'));

describe('console paths', () => {
  it('encodes any path of ordinary segments so that the resolved URL decodes back to exactly those segments', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.boolean(), (segments, folder) => {
        const path = segments.join('/') + (folder ? '/' : '');
        const url = new URL(`/v1/${encodePath(path)}`, 'http://127.0.0.1:8200');
        expect(url.search).toBe('');
        expect(url.hash).toBe('');
        const back = url.pathname.slice('/v1/'.length).split('/').map(decodeURIComponent);
        expect(back).toEqual(folder ? [...segments, ''] : segments);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses ".", ".." and empty segments, which the URL parser would resolve into another path', () => {
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 3 }),
        fc.constantFrom('.', '..', ''),
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        (before, bad, after) => {
          const path = [...before, bad, ...after].join('/');
          expect(() => encodePath(path)).toThrow(ApiError);
        },
      ),
      { numRuns: 200 },
    );
    expect(() => encodePath('kv1/../sys/policies/acl/admin')).toThrow(/not a valid path/);
  });

  it('links a reported store path only when it names that path, encoded', () => {
    expect(secretLink('secret', 'app/db')).toBe('/secrets/secret/app/db');
    expect(secretLink('secret/', 'a b?edit=1')).toBe('/secrets/secret/a%20b%3Fedit%3D1');
    expect(secretLink('secret', '../sys/policies/acl/admin')).toBeUndefined();
    expect(secretLink('secret', 'a//b')).toBeUndefined();
    fc.assert(
      fc.property(segment, fc.array(segment, { minLength: 1, maxLength: 4 }), (mount, key) => {
        const link = secretLink(mount, key.join('/'))!;
        const url = new URL(`/ui${link}`, 'http://127.0.0.1:8200');
        expect(url.search).toBe('');
        expect(url.pathname.split('/').slice(3).map(decodeURIComponent)).toEqual([mount, ...key]);
      }),
      { numRuns: 300 },
    );
  });
});
