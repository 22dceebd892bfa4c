/**
 * The auth domain's factories in one place: the token store every request goes through, and the login methods
 * that mint tokens in it. Each lives in its own folder (service, repository, tests).
 */
export { createTokenService, type TokenServiceDeps } from './token/service.js';
export { createKubernetesAuthService, type KubernetesAuthDeps } from './kubernetes/service.js';
export { createAppRoleService, type AppRoleDeps } from './approle/service.js';
export type { FetchLike } from './kubernetes/token-review.js';
