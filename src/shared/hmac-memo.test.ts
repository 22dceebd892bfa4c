import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHmacMemo } from './hmac-memo.js';

const key = randomBytes(32);
const hmac = (input: string) => createHmac('sha256', key).update(input, 'utf8').digest('hex');

describe('createHmacMemo', () => {
  it('answers exactly what the computation answers, for any strings, however often they repeat', () => {
    const memo = createHmacMemo(8);
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 20 }), (inputs) => {
        for (const input of [...inputs, ...inputs]) expect(memo.get(input, hmac)).toBe(hmac(input));
      }),
      { numRuns: 50 },
    );
  });

  it('computes a repeated input once, and again after clear()', () => {
    const memo = createHmacMemo(100);
    let calls = 0;
    const counted = (input: string) => {
      calls += 1;
      return hmac(input);
    };
    memo.get('srs.token-a', counted);
    memo.get('srs.token-a', counted);
    expect(calls).toBe(1);
    memo.clear();
    expect(memo.size).toBe(0);
    memo.get('srs.token-a', counted);
    expect(calls).toBe(2);
  });

  it('stays within its bound: the oldest entry goes', () => {
    const memo = createHmacMemo(3);
    const inputs = ['srs.one', 'srs.two', 'srs.three', 'srs.four'];
    for (const input of inputs) memo.get(input, hmac);
    expect(memo.size).toBe(3);
    let calls = 0;
    memo.get('srs.one', (input) => (calls++, hmac(input)));
    expect(calls).toBe(1); // evicted first
  });

  it('holds nothing when its bound is zero', () => {
    const memo = createHmacMemo(0);
    expect(memo.get('srs.x', hmac)).toBe(hmac('srs.x'));
    expect(memo.size).toBe(0);
  });
});
