import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError } from './status.js';

const key = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
const value = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const labels = fc.dictionary(key, value, { maxKeys: 4 });

describe('label selectors', () => {
  it('parses every operator', () => {
    expect(parseLabelSelector('a=b,c==d,e!=f,g in (h, i),j notin (k),l,!m')).toEqual([
      { key: 'a', op: 'in', values: ['b'] },
      { key: 'c', op: 'in', values: ['d'] },
      { key: 'e', op: 'notin', values: ['f'] },
      { key: 'g', op: 'in', values: ['h', 'i'] },
      { key: 'j', op: 'notin', values: ['k'] },
      { key: 'l', op: 'exists' },
      { key: 'm', op: 'notexists' },
    ]);
    expect(parseLabelSelector('app.kubernetes.io/name=web')[0]).toEqual({
      key: 'app.kubernetes.io/name',
      op: 'in',
      values: ['web'],
    });
  });

  it('rejects malformed selectors with 400', () => {
    for (const bad of ['a in b', 'a in (b', 'a=b,', '=b', 'a=b c', 'Bad Key=x', 'a=(']) {
      expect(() => parseLabelSelector(bad), bad).toThrow(ApiError);
    }
  });

  it('equality and set forms agree, and != is the complement of =', () => {
    fc.assert(
      fc.property(labels, key, value, (l, k, v) => {
        const eq = matchesLabels(parseLabelSelector(`${k}=${v}`), l);
        expect(matchesLabels(parseLabelSelector(`${k} in (${v})`), l)).toBe(eq);
        expect(matchesLabels(parseLabelSelector(`${k}!=${v}`), l)).toBe(!eq);
        expect(eq).toBe(l[k] === v);
        expect(matchesLabels(parseLabelSelector(k), l)).toBe(k in l);
        expect(matchesLabels(parseLabelSelector(`!${k}`), l)).toBe(!(k in l));
      }),
    );
  });

  it('the empty selector matches everything', () => {
    fc.assert(fc.property(labels, (l) => matchesLabels(parseLabelSelector(''), l)));
  });
});

describe('field selectors', () => {
  it('matches supported fields and refuses unsupported ones', () => {
    const secret = { metadata: { name: 'a', namespace: 'n' }, type: 'Opaque' };
    expect(matchesFields(parseFieldSelector('metadata.name=a,type==Opaque', ['metadata.name', 'type']), secret)).toBe(
      true,
    );
    expect(matchesFields(parseFieldSelector('type!=Opaque', ['type']), secret)).toBe(false);
    expect(() => parseFieldSelector('data.x=1', ['metadata.name'])).toThrow(/field label not supported/);
  });
});
