import type { Backend } from '../logical/backend.js';
import type { TransitService } from './types.js';
import { cipherPaths, dataKeyPath } from './paths/cipher.js';
import { keyMaintenancePaths, keyPaths } from './paths/keys.js';
import { signingPaths } from './paths/signing.js';
import { keyTransferPaths } from './paths/transfer.js';

/**
 * Vault's transit engine, served for every mount of type 'transit'.
 * https://developer.hashicorp.com/vault/api-docs/secret/transit
 * Every path is authorized against its own path by the pipeline (encrypt/<name>, sign/<name>, export/..., backup/...),
 * so granting encrypt never grants export: export and backup answer only to capabilities on their own paths, and the
 * key's own config must allow them as well.
 */
export function createTransitBackend(deps: { transit: TransitService }): Backend {
  const { transit } = deps;
  return {
    mountType: 'transit',
    // The order is the one the paths were always declared in: the router tries them in it (first match wins) and
    // OpenAPI lists them so.
    paths: [
      ...keyPaths(transit),
      ...cipherPaths(transit),
      ...keyMaintenancePaths(transit),
      dataKeyPath(transit),
      ...signingPaths(transit),
      ...keyTransferPaths(transit),
    ],
  };
}
