import type { Backend, BackendPath, Operation } from '../logical/backend.js';

/**
 * Vault-style routing as data: a backend's path patterns are compiled once, at startup, into anchored regular
 * expressions; a request only runs `exec` against them (no per-request compilation).
 */
export interface CompiledPath {
  readonly regex: RegExp;
  readonly def: BackendPath;
  /** Route template for metrics, without the operation ('kv.data'). */
  readonly name: string;
}

export interface CompiledBackend {
  readonly mountType: string;
  readonly paths: readonly CompiledPath[];
}

export function compileBackend(backend: Backend, fallbackName: string): CompiledBackend {
  const mountType = backend.mountType ?? fallbackName;
  for (const def of backend.paths) {
    // A path that declares the secret data it touches must be ACL-checked, or the declaration would check nothing.
    if (def.dataAccess && (def.unauthenticated || def.skipAcl)) {
      throw new Error(`backend path ${def.name ?? def.pattern} declares dataAccess but skips the ACL`);
    }
  }
  return {
    mountType,
    paths: backend.paths.map((def, index) => ({
      regex: new RegExp(`^(?:${def.pattern})$`),
      def,
      name: def.name ?? `${fallbackName}.${index}`,
    })),
  };
}

export interface PathMatch {
  path: CompiledPath;
  params: Record<string, string>;
}

const NO_PARAMS: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);

/**
 * First matching path wins, so backends list specific patterns before general ones. The params are the match's own
 * `groups` object, not a copy: it is fresh per match and has no prototype (so a segment named like an Object
 * method can never resolve to one), and copying a prototype-less object is V8's slow path, paid on every request.
 */
export function matchPath(backend: CompiledBackend, rest: string): PathMatch | null {
  for (const path of backend.paths) {
    const m = path.regex.exec(rest);
    if (m) return { path, params: (m.groups as Record<string, string> | undefined) ?? NO_PARAMS };
  }
  return null;
}

/**
 * HTTP method → Vault operation. POST and PUT are 'create' or 'update' depending on the path's existence check,
 * decided later ('write' here).
 */
export function operationForMethod(method: string, listQuery: boolean): Operation | 'write' | null {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return listQuery ? 'list' : 'read';
    case 'LIST':
      return 'list';
    case 'POST':
    case 'PUT':
      return 'write';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return null;
  }
}

export function isTruthyQuery(value: string | undefined): boolean {
  return value === 'true' || value === '1' || value === 'True' || value === 'TRUE';
}
