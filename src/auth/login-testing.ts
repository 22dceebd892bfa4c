import type { IdentityResolver } from '../identity/types.js';
import { NO_IDENTITY } from '../identity/none.js';
import { createLoginService, NO_MFA, type IssuedLogin, type LoginOutcome, type LoginService } from './login.js';
import type { TokenService } from './types.js';

/** For unit tests of an auth method: the login service over the real token store, without MFA. */
export function testLogins(
  tokens: Pick<TokenService, 'issue'>,
  identity: IdentityResolver = NO_IDENTITY,
): LoginService {
  return createLoginService({ identity, mfa: NO_MFA, tokens });
}

/** The issued token of a login that must not need MFA (a test fails loudly when it does). */
export function issued(outcome: LoginOutcome): IssuedLogin {
  if (outcome.kind !== 'token') throw new Error('the login asked for MFA where a token was expected');
  return outcome;
}

type LoginMethod = { login(...args: never[]): Promise<LoginOutcome> };

/** A method's service whose `login` answers the issued token directly (tests that never involve MFA). */
export type TokenLogins<S extends LoginMethod> = Omit<S, 'login'> & {
  login(...args: Parameters<S['login']>): Promise<IssuedLogin>;
};

export function tokenLogins<S extends LoginMethod>(service: S): TokenLogins<S> {
  return {
    ...service,
    login: async (...args: Parameters<S['login']>) => issued(await service.login(...args)),
  };
}
