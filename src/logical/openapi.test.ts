import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routeTemplates } from './openapi.js';

describe('route patterns as OpenAPI templates', () => {
  it('names groups as parameters and expands optional parts and alternations', () => {
    expect(routeTemplates('data/(?<path>.+)')).toEqual(['data/{path}']);
    expect(routeTemplates('metadata(?:/(?<path>.*))?')).toEqual(['metadata', 'metadata/{path}']);
    expect(routeTemplates('roles/?')).toEqual(['roles']);
    expect(routeTemplates('(?:keys/(?<name>[^/]+)/import(?:_version)?|wrapping_key)')).toEqual([
      'keys/{name}/import',
      'keys/{name}/import_version',
      'wrapping_key',
    ]);
    expect(routeTemplates('random(?:/(?<source>platform|seal|all))?(?:/(?<bytes>[0-9]+))?')).toEqual([
      'random',
      'random/{bytes}',
      'random/{source}',
      'random/{source}/{bytes}',
    ]);
    expect(routeTemplates('audit/(?<path>.+?)/?')).toEqual(['audit/{path}']);
  });

  it('refuses an unnamed wildcard (it would be a parameter without a name)', () => {
    expect(() => routeTemplates('export/[^/]+')).toThrow(/unnamed wildcard/);
  });

  it('every template it produces matches the pattern it came from', () => {
    const segment = fc.constantFrom('keys', 'data', 'x-y', 'a_b');
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        (segments, optional, slash) => {
          const pattern = `${segments.join('/')}${optional ? '(?:/(?<name>[^/]+))?' : '/(?<name>[^/]+)'}${slash ? '/?' : ''}`;
          const regex = new RegExp(`^(?:${pattern})$`);
          for (const template of routeTemplates(pattern))
            expect(regex.test(template.replace(/\{[^}]+\}/g, 'v'))).toBe(true);
        },
      ),
    );
  });
});
