import type { IdentityResolver } from './types.js';

/**
 * No identity store: logins get no entity, tokens only their own policies. For unit tests of a method and tools that
 * run without the store; the server always wires the real one.
 */
export const NO_IDENTITY: IdentityResolver = {
  resolveLogin: async () => ({
    entity: { id: '', name: '', metadata: {}, aliases: [], disabled: false, policies: [] },
    groups: [],
  }),
  snapshot: async () => undefined,
};
