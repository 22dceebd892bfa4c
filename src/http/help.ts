import type { BackendPath, Handler } from '../logical/backend.js';
import { API_VERSION, helpText, openApiDocument } from '../logical/openapi.js';
import type { CompiledBackend } from './router.js';

/**
 * Vault's `?help=1`: the path's help text and an OpenAPI document of that path alone, as the body itself (Vault's
 * help responses carry no envelope).
 */
export function pathHelp(def: BackendPath, backend: CompiledBackend, path: string, rest: string): Handler {
  return async () => {
    const prefix = prefixOf(path, rest);
    const document = openApiDocument([{ prefix, paths: [def], tag: tagFor(prefix) }], API_VERSION);
    return { raw: { help: helpText(def), openapi: document } };
  };
}

/** Where a backend is served, from a request path and the part of it the backend saw ('sys/', 'secret/'). */
export function prefixOf(path: string, rest: string): string {
  const prefix = path.slice(0, path.length - rest.length);
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** Vault tags its document's operations by kind of mount. */
export function tagFor(prefix: string): string {
  if (prefix === 'sys/') return 'system';
  if (prefix.startsWith('auth/')) return 'auth';
  return 'secrets';
}

export type { CompiledBackend };
