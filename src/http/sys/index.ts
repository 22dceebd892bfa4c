import type { Backend, BackendPath } from '../../logical/backend.js';
import type { HttpDeps } from '../deps.js';
import { auditPaths } from './audit.js';
import { authPaths } from './auth.js';
import { clusterPaths } from './clusters.js';
import { leasePaths } from './leases.js';
import { lockedUserPaths } from './locked-users.js';
import { metricsPaths } from './metrics.js';
import { mfaValidatePaths } from './mfa.js';
import { mountPaths } from './mounts.js';
import { passwordPolicyPaths } from './passwords.js';
import { policyPaths } from './policy.js';
import { sealPaths } from './seal.js';
import { wrappingPaths } from './wrapping.js';

/** The system backend (sys/): one file per route group, composed here. */
export function createSysBackend(deps: HttpDeps): Backend {
  return {
    mountType: 'system',
    // authPaths before mountPaths: sys/mounts/auth/<path>/tune is an auth mount's tune, not a secrets mount's.
    paths: [
      ...sealPaths(deps),
      ...authPaths(deps),
      ...mountPaths(deps),
      ...policyPaths(deps),
      ...passwordPolicyPaths(deps),
      ...auditPaths(deps),
      ...metricsPaths(deps),
      ...wrappingPaths(deps),
      ...leasePaths(deps),
      ...mfaValidatePaths(deps),
      ...lockedUserPaths(deps),
      ...clusterPaths(deps),
    ],
  };
}

/** The sys backend with sys/internal/specs/openapi, which needs the compiled route table (see app.ts). */
export function withOpenApiSpec(sys: Backend, specPaths: BackendPath[]): Backend {
  return { ...sys, paths: [...sys.paths, ...specPaths] };
}
