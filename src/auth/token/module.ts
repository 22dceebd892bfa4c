import { defineAuthMethod } from '../../logical/module.js';
import { createTokenBackend } from './routes.js';

/**
 * The token store's API at auth/token/. The token service itself is core (every method issues tokens, and its
 * tables migrate with the core), so this module only serves its paths; it exists once, at token/, as in Vault.
 */
export const tokenAuth = defineAuthMethod({
  type: 'token',
  description: 'token based credentials',
  fixedPath: 'token/',
  migrations: {},
  createService: (core) => ({ tokens: core.tokens, identity: core.identity }),
  routesKey: () => 'token',
  routes: (service) => createTokenBackend(service),
});
