import type { BackendPath, RequestContext } from '../../logical/backend.js';
import { openApiDocument, type DocumentedBackend, type OpenApiDocument } from '../../logical/openapi.js';
import { f } from '../../logical/schema.js';
import type { HttpDeps } from '../deps.js';
import type { RouteTable } from '../pipeline.js';
import type { CompiledBackend } from '../router.js';
import { tagFor } from '../help.js';

/**
 * Vault's sys/internal/specs/openapi: one OpenAPI 3 document of every path served, generated from the routes'
 * declarations; each mounted engine appears once per mount, under its real path (secret/data/{path}). As in Vault,
 * the document holds the paths visible to the caller: a backend appears when the caller's policies grant anything
 * under its prefix (root sees everything). A token is required; no capability on this path is (Vault lets any
 * token ask, and filters the answer).
 */
export function openApiSpecPaths(
  deps: Pick<HttpDeps, 'mounts' | 'authMounts'>,
  routes: () => RouteTable,
): BackendPath[] {
  return [
    {
      name: 'sys.internal.specs.openapi',
      pattern: 'internal/specs/openapi',
      skipAcl: true,
      synopsis: 'An OpenAPI 3 document of the paths this server serves to the caller.',
      queryFields: { generic_mount_paths: f.bool('Accepted for compatibility; mount paths are always the real ones.') },
      operations: {
        read: async (ctx) => ({ raw: await documentFor(ctx, deps, routes()) }),
      },
    },
  ];
}

/** Every backend as served now: sys, one entry per auth mount, and one per engine mount (the module registry's). */
export async function servedBackends(
  deps: Pick<HttpDeps, 'mounts' | 'authMounts'>,
  routes: RouteTable,
): Promise<DocumentedBackend[]> {
  const documented = (prefix: string, backend: CompiledBackend): DocumentedBackend => ({
    prefix,
    paths: backend.paths.map((p) => p.def),
    tag: tagFor(prefix),
  });
  const backends = [documented('sys/', routes.sys)];
  for (const mount of await deps.authMounts.list()) {
    const backend = routes.backendFor(mount, 'auth');
    if (backend) backends.push(documented(`auth/${mount.path}`, backend));
  }
  for (const mount of await deps.mounts.list()) {
    const backend = routes.backendFor(mount, 'secrets');
    if (backend) backends.push(documented(mount.path, backend));
  }
  return backends;
}

async function documentFor(
  ctx: RequestContext,
  deps: Pick<HttpDeps, 'mounts' | 'authMounts'>,
  routes: RouteTable,
): Promise<OpenApiDocument> {
  const visible: DocumentedBackend[] = [];
  for (const backend of await servedBackends(deps, routes)) {
    if (await ctx.canReachUnder(backend.prefix)) visible.push(backend);
  }
  return openApiDocument(visible);
}
