import type { TokenInfo, TokenService } from '../auth/types.js';
import type { CubbyholeService } from '../cubbyhole/types.js';
import { invalid, isStrongroomError } from '../shared/errors.js';
import { INVALID_WRAPPING_TOKEN, RESPONSE_WRAPPING_POLICY, type WrapInfo, type WrappingService } from './types.js';

export interface WrappingServiceDeps {
  tokens: Pick<TokenService, 'issue' | 'lookup' | 'revoke'>;
  cubbyhole: Pick<CubbyholeService, 'read' | 'write' | 'take'>;
}

/** The cubbyhole entry of a wrapping token that holds the wrapped response (Vault's `cubbyhole/response`). */
const RESPONSE_ENTRY = 'response';

interface StoredResponse {
  response: Record<string, unknown>;
  wrapped_accessor?: string;
}

export function createWrappingService(deps: WrappingServiceDeps): WrappingService {
  const { tokens, cubbyhole } = deps;
  const notValid = () => invalid(INVALID_WRAPPING_TOKEN);

  /**
   * The token's properties, if it is a live wrapping token. `lookup` counts no use: the one use of a wrapping token
   * is the atomic take of its response, so two concurrent unwraps cannot both succeed.
   */
  async function wrappingToken(token: unknown): Promise<TokenInfo> {
    if (typeof token !== 'string' || token === '') throw notValid();
    let info: TokenInfo;
    try {
      info = await tokens.lookup(token);
    } catch (err) {
      if (isStrongroomError(err, 'unauthenticated')) throw notValid();
      throw err;
    }
    if (info.policies.length !== 1 || info.policies[0] !== RESPONSE_WRAPPING_POLICY) throw notValid();
    return info;
  }

  async function revokeQuietly(token: string): Promise<void> {
    // The response is already out of the token's cubbyhole: a token left behind can unwrap nothing and expires with
    // its TTL; failing the request now would lose the response the caller was entitled to.
    await tokens.revoke(token).catch(() => undefined);
  }

  async function wrap(input: {
    response: Record<string, unknown>;
    ttl: number;
    creationPath: string;
    wrappedAccessor?: string;
  }): Promise<WrapInfo> {
    if (!Number.isSafeInteger(input.ttl) || input.ttl <= 0)
      throw invalid('wrapping TTL must be a positive number of seconds');
    const { token, info } = await tokens.issue({
      authMethod: 'token',
      path: input.creationPath,
      displayName: RESPONSE_WRAPPING_POLICY,
      policies: [RESPONSE_WRAPPING_POLICY],
      noDefaultPolicy: true,
      renewable: false,
      ttl: input.ttl,
      explicitMaxTtl: input.ttl,
      numUses: 1,
    });
    const stored: StoredResponse = { response: input.response };
    if (input.wrappedAccessor) stored.wrapped_accessor = input.wrappedAccessor;
    try {
      await cubbyhole.write(info.accessor, RESPONSE_ENTRY, stored as unknown as Record<string, unknown>);
    } catch (err) {
      // No half-made wrapping token: the caller gets the error, never the response and never an empty token.
      await tokens.revoke(token).catch(() => undefined);
      throw err;
    }
    return {
      token,
      accessor: info.accessor,
      ttl: info.creationTtl,
      creationTime: info.creationTime,
      creationPath: info.path,
      ...(input.wrappedAccessor ? { wrappedAccessor: input.wrappedAccessor } : {}),
    };
  }

  return {
    wrap,

    async unwrap(token) {
      const info = await wrappingToken(token);
      const stored = (await cubbyhole.take(info.accessor, RESPONSE_ENTRY)) as StoredResponse | undefined;
      await revokeQuietly(token);
      if (!stored) throw notValid();
      return stored.response;
    },

    async lookup(token) {
      const info = await wrappingToken(token);
      return { creationTtl: info.creationTtl, creationTime: info.creationTime, creationPath: info.path };
    },

    async rewrap(token) {
      const info = await wrappingToken(token);
      const stored = (await cubbyhole.read(info.accessor, RESPONSE_ENTRY)) as StoredResponse | undefined;
      if (!stored) throw notValid();
      const next = await wrap({
        response: stored.response,
        ttl: info.creationTtl,
        creationPath: info.path,
        ...(stored.wrapped_accessor ? { wrappedAccessor: stored.wrapped_accessor } : {}),
      });
      // The old token gives its response up only now, atomically: if it was unwrapped meanwhile, the new token must
      // not carry a second copy.
      if (!(await cubbyhole.take(info.accessor, RESPONSE_ENTRY))) {
        await tokens.revoke(next.token).catch(() => undefined);
        throw notValid();
      }
      await revokeQuietly(token);
      return next;
    },
  };
}
