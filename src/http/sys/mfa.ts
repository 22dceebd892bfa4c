import type { LoginService } from '../../auth/login.js';
import { loginReply } from '../../auth/token/views.js';
import { definePath, type BackendPath } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';
import { invalid } from '../../shared/errors.js';

// Bounds on a payload nobody legitimate exceeds: a login needs one passcode per enforcement.
const MAX_METHODS = 32;
const MAX_VALUES = 8;
const MAX_VALUE_LENGTH = 256;

/**
 * Vault's sys/mfa/validate: completes a login that answered with `auth.mfa_requirement`. Unauthenticated (the caller
 * has no token yet: the request id is what it holds) and rate limited like a login. The answer is the login's auth
 * block; the token was decided when the login was parked, so nothing in this request can change it.
 */
export function mfaValidatePaths(deps: { logins: Pick<LoginService, 'resume'> }): BackendPath[] {
  return [
    definePath({
      name: 'sys.mfa.validate',
      pattern: 'mfa/validate',
      unauthenticated: true,
      rateLimited: true,
      synopsis: 'Validates the MFA credentials of a login and returns its token.',
      fields: {
        mfa_request_id: f.string('The mfa_request_id of the login.'),
        mfa_payload: f.object('Passcodes by MFA method ID or name: {"<method>": ["<passcode>"]}.'),
      },
      operations: {
        update: async (ctx) => {
          const requestId = ctx.input.mfa_request_id ?? '';
          if (requestId === '') throw invalid('missing request ID');
          if (ctx.input.mfa_payload === undefined) throw invalid('missing mfa payload');
          const issued = await deps.logins.resume(requestId, payloadOf(ctx.input.mfa_payload));
          return loginReply({ kind: 'token', ...issued });
        },
      },
    }),
  ];
}

function payloadOf(raw: Record<string, unknown>): Record<string, string[]> {
  const entries = Object.entries(raw);
  if (entries.length > MAX_METHODS) throw invalid('invalid mfa payload');
  const payload: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [method, values] of entries) {
    if (
      !Array.isArray(values) ||
      values.length > MAX_VALUES ||
      !values.every((v) => typeof v === 'string' && v.length <= MAX_VALUE_LENGTH)
    )
      throw invalid('invalid mfa payload');
    payload[method] = values as string[];
  }
  return payload;
}
