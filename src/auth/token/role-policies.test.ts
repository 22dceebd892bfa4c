import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../../shared/errors.js';
import { matchesAny } from '../glob.js';
import type { TokenRole } from '../types.js';
import { lesserLimit, mergeRole, rolePolicies } from './roles.js';

const base = mergeRole(undefined, { name: 'r' }, 0).role;
const name = fc.constantFrom('app', 'db', 'default', 'team-a', 'team-admin', 'ops', 'root');
const glob = fc.constantFrom('team-*', '*-admin', '*', 'd*', 'app');
const names = fc.uniqueArray(name as fc.Arbitrary<string>, { maxLength: 4 });
const globs = fc.uniqueArray(glob as fc.Arbitrary<string>, { maxLength: 2 });

function attempt(
  role: TokenRole,
  requested: string[],
  noDefaultPolicy: boolean,
  parentPolicies: string[],
): string[] | undefined | 'refused' {
  try {
    return rolePolicies({ role, requested, noDefaultPolicy, parentPolicies });
  } catch (err) {
    if (isStrongroomError(err, 'invalid')) return 'refused';
    throw err;
  }
}

describe('token role policy rules (pure)', () => {
  it('property: a role token never holds a disallowed policy, and holds only allowed ones when the role lists any', () => {
    fc.assert(
      fc.property(
        names,
        names,
        globs,
        globs,
        names,
        names,
        fc.boolean(),
        (allowed, disallowed, allowedGlob, disallowedGlob, requested, parent, noDefault) => {
          const role = {
            ...base,
            allowedPolicies: allowed,
            disallowedPolicies: disallowed,
            allowedPoliciesGlob: allowedGlob,
            disallowedPoliciesGlob: disallowedGlob,
          };
          const result = attempt(role, requested, noDefault, parent);
          const declares = allowed.length + disallowed.length + allowedGlob.length + disallowedGlob.length > 0;
          if (!declares) {
            expect(result).toBeUndefined();
            return;
          }
          if (result === 'refused' || result === undefined) return;
          for (const policy of result) {
            expect(disallowed.includes(policy) || matchesAny(disallowedGlob, policy)).toBe(false);
            if (allowed.length > 0 || allowedGlob.length > 0) {
              expect(allowed.includes(policy) || matchesAny(allowedGlob, policy) || policy === 'default').toBe(true);
            }
          }
          if (
            noDefault &&
            !requested.includes('default') &&
            !allowed.includes('default') &&
            !parent.includes('default')
          ) {
            expect(result).not.toContain('default');
          }
        },
      ),
    );
  });

  it('property: a role that only allows always yields its whole list when nothing is requested', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom('app', 'db', 'ops'), { minLength: 1, maxLength: 3 }), (allowed) => {
        const result = attempt({ ...base, allowedPolicies: allowed }, [], false, ['unrelated']);
        expect(result).toEqual([...new Set([...allowed, 'default'])].sort());
      }),
    );
  });

  it('takes the lesser non-zero limit', () => {
    expect(lesserLimit(0, 0)).toBe(0);
    expect(lesserLimit(60, 0)).toBe(60);
    expect(lesserLimit(0, 60)).toBe(60);
    expect(lesserLimit(30, 60)).toBe(30);
    expect(lesserLimit(90, 60)).toBe(60);
  });
});
