import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CAPABILITIES, EXTRA_KEYS, parsePolicy } from './document.js';
import { formatPolicy, formatPolicyText } from './fmt.js';
import type { Capability, HclValue, PathRule } from './types.js';

const scalar: fc.Arbitrary<HclValue> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => n || 0),
  fc.boolean(),
);

const { value: hclValue } = fc.letrec<{ value: HclValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));

const capabilities: fc.Arbitrary<Capability[]> = fc
  .uniqueArray(fc.constantFrom(...CAPABILITIES), { maxLength: CAPABILITIES.length })
  .map((caps) => (caps.includes('deny') ? ['deny'] : caps));

const pattern = fc.string({ unit: 'binary', maxLength: 30 }).filter((p) => !p.includes('+*'));

/**
 * Parameter constraints are enforced, so only their well-formed shapes parse: key → list of values, list of names;
 * wrapping TTLs are durations (the maximum not below the minimum), MFA methods a list of names, a comment a string.
 */
const valueLists = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.array(hclValue, { maxLength: 3 }), {
  maxKeys: 3,
  noNullPrototype: true,
});
function wellFormedConstraints(extras: Record<string, HclValue>): fc.Arbitrary<Record<string, HclValue>> {
  return fc
    .record({
      allowed: valueLists,
      denied: valueLists,
      required: fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 3 }),
      minWrap: fc.integer({ min: 0, max: 3600 }),
      maxWrap: fc.oneof(fc.constant('1h'), fc.integer({ min: 3600, max: 86400 })),
      mfa: fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 2 }),
      comment: fc.string({ unit: 'binary', maxLength: 12 }),
    })
    .map(({ allowed, denied, required, minWrap, maxWrap, mfa, comment }) => {
      const out = { ...extras };
      if ('allowed_parameters' in out) out.allowed_parameters = allowed;
      if ('denied_parameters' in out) out.denied_parameters = denied;
      if ('required_parameters' in out) out.required_parameters = required;
      if ('min_wrapping_ttl' in out) out.min_wrapping_ttl = minWrap;
      if ('max_wrapping_ttl' in out) out.max_wrapping_ttl = maxWrap;
      if ('mfa_methods' in out) out.mfa_methods = mfa;
      if ('comment' in out) out.comment = comment;
      return out;
    });
}

const rule: fc.Arbitrary<PathRule> = fc
  .record({
    pattern,
    capabilities,
    extras: fc
      .dictionary(fc.constantFrom(...EXTRA_KEYS), hclValue, { maxKeys: 3, noNullPrototype: true })
      .chain(wellFormedConstraints),
  })
  .map(({ pattern, capabilities, extras }) =>
    Object.keys(extras).length ? { pattern, capabilities, extras } : { pattern, capabilities },
  );

describe('formatPolicy', () => {
  it('prints canonical HCL', () => {
    const text = formatPolicyText(`
      path "secret/*" { capabilities = ["read","list"], max_wrapping_ttl = 60 ,
        allowed_parameters { "a" = ["x"]
        "b" = [] } }
      # comment
      path "sys/mounts" { policy = "deny" }`);
    expect(text).toBe(
      [
        'path "secret/*" {',
        '  capabilities = ["read", "list"]',
        '  allowed_parameters = {',
        '    "a" = ["x"]',
        '    "b" = []',
        '  }',
        '  max_wrapping_ttl = 60',
        '}',
        '',
        'path "sys/mounts" {',
        '  capabilities = ["deny"]',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('round-trips: parse(fmt(doc)) equals doc', () => {
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 6 }), (rules) => {
        expect(parsePolicy(formatPolicy(rules))).toEqual(rules);
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent: formatting formatted text changes nothing', () => {
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 4 }), (rules) => {
        const once = formatPolicy(rules);
        expect(formatPolicyText(once)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });
});
