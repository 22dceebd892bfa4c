import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/errors.js';
import { NO_IDENTITY } from '../identity/none.js';
import { createLoginService, NO_MFA, type LoginRequest } from './login.js';
import type { TokenService } from './types.js';

/** The login service refuses an alias name the identity store could not hold, for every method, before anything. */
describe('login service', () => {
  const issued: unknown[] = [];
  const tokens = {
    issue: async (input: unknown) => {
      issued.push(input);
      return { token: 't', info: {} as never };
    },
  } as Pick<TokenService, 'issue'>;
  const logins = createLoginService({ identity: NO_IDENTITY, mfa: NO_MFA, tokens });
  const request = (name: string): LoginRequest => ({
    mount: { accessor: 'auth_jwt_0a1b2c3d', path: 'jwt/', type: 'jwt' },
    alias: { name, metadata: {} },
    token: { authMethod: 'jwt', path: 'auth/jwt/login' },
  });

  it('refuses an empty or oversized alias name with a 400, and issues nothing', async () => {
    for (const name of ['', 'x'.repeat(513)]) {
      const err = await errorOf(logins.complete(request(name)));
      expect(err.kind).toBe('invalid');
      expect(err.message).toBe("the login's alias name must be 1 to 512 characters");
    }
    expect(issued).toEqual([]);
    expect((await logins.complete(request('x'.repeat(512)))).kind).toBe('token');
    expect(issued).toHaveLength(1);
  });
});
