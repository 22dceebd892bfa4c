import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRoutes } from '../../../src/http/app.js';
import type { RouteTable } from '../../../src/http/pipeline.js';
import { REGISTRY } from '../../../src/server/modules.js';
import { routeTemplates, templateShape } from '../../../src/logical/openapi.js';
import { loadConfig } from '../../../src/server/config.js';
import { startServer, type RunningServer } from '../../../src/server/run.js';
import { api } from './client.js';

/**
 * sys/internal/specs/openapi and `?help=1` on a real server: the document is valid OpenAPI 3.0, and every route the
 * router serves (sys, every auth method, every engine type, once per mount) is in it.
 */
describe('OpenAPI document and help (real server)', () => {
  let server: RunningServer;
  let token: string;
  let dataDir: string;
  let routes: RouteTable;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let doc: any;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'strongroom-openapi-'));
    const config = loadConfig({ flags: { dev: true, dataDir, listen: '127.0.0.1:0', logLevel: 'silent' }, env: {} });
    server = await startServer(config, { log: () => undefined, warn: () => undefined });
    token = server.rootToken!;
    routes = buildRoutes(server.store.httpDeps);
    // One mount of every engine and auth method the registry has (the dev server has kv v2 at secret/, transit/ and
    // the fixed cubbyhole/ and token/): kv v1 besides v2, approle, kubernetes, userpass, jwt and oidc enabled.
    const mounted = async (path: string, body: unknown, table: 'mounts' | 'auth') => {
      const res = await api(server.url, 'POST', `sys/${table}/${path}`, { token, body });
      expect(res.status, `enabling ${path}`).toBe(204);
    };
    await mounted('openapi-kv1', { type: 'kv', options: { version: '1' } }, 'mounts');
    await mounted('openapi-database', { type: 'database' }, 'mounts');
    await mounted('openapi-approle', { type: 'approle' }, 'auth');
    await mounted('openapi-kubernetes', { type: 'kubernetes' }, 'auth');
    await mounted('openapi-jwt', { type: 'jwt' }, 'auth');
    await mounted('openapi-oidc', { type: 'oidc' }, 'auth');
    await mounted('openapi-userpass', { type: 'userpass' }, 'auth');
    const res = await api(server.url, 'GET', 'sys/internal/specs/openapi', { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    doc = res.body;
  });
  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('is a valid OpenAPI 3.0 document', async () => {
    const problems = openApi30Problems(doc);
    expect(problems).toEqual([]);
    // And the OpenAPI 3.0 JSON schema itself, through a full validator.
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('contains every route the router serves, per mount', async () => {
    // Templates that differ only in parameter names are one OpenAPI path (random/{bytes}, random/{source}).
    const documented = new Set(Object.keys(doc.paths).map(templateShape));
    const expectRoutes = (prefix: string, patterns: readonly string[]) => {
      for (const pattern of patterns) {
        for (const template of routeTemplates(pattern)) {
          const shape = templateShape(`/${prefix}${template}`);
          expect(
            documented.has(shape) || documented.has(`${shape}/`),
            `/${prefix}${template} (pattern ${pattern})`,
          ).toBe(true);
        }
      }
    };
    expectRoutes(
      'sys/',
      routes.sys.paths.map((p) => p.def.pattern),
    );
    const types = new Set<string>();
    for (const mount of await server.store.httpDeps.authMounts.list()) {
      const backend = routes.backendFor(mount, 'auth');
      if (!backend) continue;
      types.add(mount.type);
      expectRoutes(
        `auth/${mount.path}`,
        backend.paths.map((p) => p.def.pattern),
      );
    }
    const kvVersions = new Set<string>();
    for (const mount of await server.store.httpDeps.mounts.list()) {
      const backend = routes.backendFor(mount, 'secrets');
      if (!backend) continue;
      types.add(mount.type);
      if (mount.type === 'kv') kvVersions.add(mount.options.version ?? '1');
      expectRoutes(
        mount.path,
        backend.paths.map((p) => p.def.pattern),
      );
    }
    // Every module the registry lists was checked, and KV's both APIs.
    expect([...types].sort()).toEqual([...REGISTRY.secrets, ...REGISTRY.auth].map((m) => m.type).sort());
    expect([...kvVersions].sort()).toEqual(['1', '2']);
    // Vault's shapes for the paths clients know best.
    expect(
      doc.paths['/secret/data/{path}'].post.requestBody.content['application/json'].schema.properties.options,
    ).toBeDefined();
    expect(doc.paths['/secret/metadata/{path}/'].get.parameters).toContainEqual(
      expect.objectContaining({ name: 'list', in: 'query', required: true }),
    );
    expect(
      doc.paths['/auth/token/create'].post.requestBody.content['application/json'].schema.properties.ttl,
    ).toMatchObject({ type: 'string', format: 'duration' });
    expect(doc.paths['/sys/internal/specs/openapi'].get).toBeDefined();
    // The auth methods' declared fields, per mount: approle's role (its own and the shared role token fields, with
    // Vault's legacy aliases), kubernetes' config and role, and sys/auth.
    const body = (path: string) => doc.paths[path]?.post?.requestBody?.content['application/json'].schema;
    const approleRole = body('/auth/openapi-approle/role/{name}');
    expect(approleRole.properties.token_policies).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(approleRole.properties.policies).toMatchObject({ type: 'array' });
    expect(approleRole.properties.token_ttl).toMatchObject({ type: 'string', format: 'duration' });
    expect(approleRole.properties.bind_secret_id).toMatchObject({ type: 'boolean' });
    expect(approleRole.properties.secret_id_num_uses).toMatchObject({ type: 'integer', minimum: 0 });
    expect(body('/auth/openapi-approle/login')).toMatchObject({
      required: ['role_id'],
      properties: { secret_id: { type: 'string' } },
    });
    expect(body('/auth/openapi-approle/role/{name}/secret-id').properties).toHaveProperty('metadata');
    expect(doc.paths['/auth/openapi-approle/role/{name}/secret-id/destroy'].delete.parameters).toContainEqual(
      expect.objectContaining({ name: 'secret_id', in: 'query' }),
    );
    const kubernetesConfig = body('/auth/openapi-kubernetes/config');
    expect(kubernetesConfig.properties.kubernetes_host).toMatchObject({ type: 'string' });
    expect(kubernetesConfig.properties.pem_keys).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(kubernetesConfig.properties.disable_iss_validation).toMatchObject({ type: 'boolean' });
    const kubernetesRole = body('/auth/openapi-kubernetes/role/{name}');
    expect(kubernetesRole.properties.bound_service_account_names).toMatchObject({ type: 'array' });
    expect(kubernetesRole.properties.token_policies).toMatchObject({ type: 'array' });
    expect(body('/auth/openapi-kubernetes/login').required).toEqual(['role', 'jwt']);
    expect(body('/sys/auth/{path}')).toMatchObject({ required: ['type'], properties: { options: { type: 'object' } } });
    expect(body('/sys/mounts/auth/{path}/tune').properties.default_lease_ttl).toMatchObject({
      type: 'string',
      format: 'duration',
    });
  });

  it('shows a caller only the backends it can reach', async () => {
    const created = await api(server.url, 'POST', 'auth/token/create', { token, body: { policies: ['default'] } });
    const limited = created.body.auth.client_token as string;
    const res = await api(server.url, 'GET', 'sys/internal/specs/openapi', { token: limited });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths).some((p) => p.startsWith('/secret/'))).toBe(false);
    expect(res.body.paths['/auth/token/lookup-self']).toBeDefined();
    const anonymous = await api(server.url, 'GET', 'sys/internal/specs/openapi');
    expect(anonymous.status).toBe(403);
  });

  it("?help=1 answers with the path's help and its OpenAPI, to any token, without a capability", async () => {
    const created = await api(server.url, 'POST', 'auth/token/create', { token, body: { policies: ['default'] } });
    const limited = created.body.auth.client_token as string;
    expect((await api(server.url, 'GET', 'secret/data/app/db', { token: limited })).status).toBe(403);
    const help = await api(server.url, 'GET', 'secret/data/app/db?help=1', { token: limited });
    expect(help.status).toBe(200);
    expect(typeof help.body.help).toBe('string');
    expect(help.body.openapi.openapi).toMatch(/^3\.0\./);
    expect(Object.keys(help.body.openapi.paths)).toEqual(['/secret/data/{path}']);
    expect(openApi30Problems(help.body.openapi)).toEqual([]);
    expect((await api(server.url, 'GET', 'secret/data/app/db?help=1')).status).toBe(403);
  });

  it('validates fields only after the ACL: a caller without access gets 403, never the field error', async () => {
    const created = await api(server.url, 'POST', 'auth/token/create', { token, body: { policies: ['default'] } });
    const limited = created.body.auth.client_token as string;
    const denied = await api(server.url, 'POST', 'auth/token/create-orphan', {
      token: limited,
      body: { ttl: 'not-a-duration' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ errors: ['permission denied'] });
    const refused = await api(server.url, 'POST', 'auth/token/create-orphan', {
      token,
      body: { ttl: 'not-a-duration' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toBe('field "ttl" must be a duration such as "1h" or a number of seconds');
  });
});

/** OpenAPI 3.0 rules checked without a dedicated validator; every schema is compiled by ajv as well. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function openApi30Problems(doc: any): string[] {
  const problems: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.0\.\d+$/.test(doc.openapi)) problems.push('openapi must be 3.0.x');
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string')
    problems.push('info needs title and version');
  if (typeof doc.paths !== 'object' || doc.paths === null) return [...problems, 'paths missing'];
  const ajv = new Ajv({ strict: true, strictTypes: false, allErrors: true });
  // OpenAPI 3.0's own formats (byte: base64) and Vault's duration.
  for (const format of ['duration', 'byte', 'int32', 'int64', 'float', 'double', 'binary', 'password'])
    ajv.addFormat(format, true);
  const operationIds = new Set<string>();
  const shapes = new Set<string>();
  const checkSchema = (where: string, schema: unknown) => {
    problems.push(...schemaKeywordProblems(where, schema));
    try {
      ajv.compile(schema as object);
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  };
  for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
    if (!path.startsWith('/')) problems.push(`${path}: must start with /`);
    // "Templated paths with the same hierarchy but different templated names MUST NOT exist as they are identical."
    const shape = path.replace(/\{[^}]+\}/g, '{}');
    if (shapes.has(shape)) problems.push(`${path}: same template as another path`);
    shapes.add(shape);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const params = (item.parameters ?? []) as Array<Record<string, unknown>>;
    const declared = params.filter((p) => p.in === 'path').map((p) => p.name);
    if ([...templated].sort().join() !== [...declared].sort().join())
      problems.push(`${path}: path parameters ${declared} do not match template`);
    for (const p of params) {
      if (p.required !== true) problems.push(`${path}: path parameter ${String(p.name)} must be required`);
      checkSchema(`${path} ${String(p.name)}`, p.schema);
    }
    for (const [key, value] of Object.entries(item)) {
      if (key === 'parameters' || key.startsWith('x-')) continue;
      if (!['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(key)) {
        problems.push(`${path}: unknown key ${key}`);
        continue;
      }
      const op = value as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (!op.responses || Object.keys(op.responses).length === 0) problems.push(`${path} ${key}: no responses`);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      for (const [code, response] of Object.entries<any>(op.responses ?? {})) {
        if (!/^[1-5]\d\d$|^default$/.test(code) || typeof response.description !== 'string')
          problems.push(`${path} ${key}: bad response ${code}`);
      }
      if (typeof op.operationId === 'string') {
        if (operationIds.has(op.operationId)) problems.push(`${path} ${key}: duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
      }
      const names = new Set<string>();
      for (const p of op.parameters ?? []) {
        if (!['query', 'header', 'path', 'cookie'].includes(p.in) || typeof p.name !== 'string')
          problems.push(`${path} ${key}: bad parameter`);
        if (names.has(`${p.in}:${p.name}`)) problems.push(`${path} ${key}: duplicate parameter ${p.name}`);
        names.add(`${p.in}:${p.name}`);
        checkSchema(`${path} ${key} ${p.name}`, p.schema);
      }
      if (op.requestBody) {
        const content = op.requestBody.content?.['application/json'];
        if (!content) problems.push(`${path} ${key}: request body without application/json`);
        else checkSchema(`${path} ${key} body`, content.schema);
      }
    }
  }
  return problems;
}

/** JSON Schema keywords OpenAPI 3.0's Schema Object does not have (it predates draft 2019-09 and has no const). */
const NOT_OAS30 = [
  '$schema',
  '$id',
  'const',
  'prefixItems',
  'examples',
  '$defs',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'unevaluatedProperties',
];

function schemaKeywordProblems(where: string, schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return [`${where}: schema must be an object`];
  const problems: string[] = [];
  const s = schema as Record<string, unknown>;
  for (const key of NOT_OAS30) if (key in s) problems.push(`${where}: ${key} is not OpenAPI 3.0`);
  if (Array.isArray(s.type)) problems.push(`${where}: type must be a single string in OpenAPI 3.0`);
  if (s.type === 'array' && !s.items) problems.push(`${where}: an array schema needs items`);
  for (const [name, child] of Object.entries((s.properties ?? {}) as Record<string, unknown>))
    problems.push(...schemaKeywordProblems(`${where}.${name}`, child));
  if (typeof s.items === 'object') problems.push(...schemaKeywordProblems(`${where}[]`, s.items));
  if (typeof s.additionalProperties === 'object')
    problems.push(...schemaKeywordProblems(`${where}{}`, s.additionalProperties));
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    for (const child of (s[key] ?? []) as unknown[]) problems.push(...schemaKeywordProblems(`${where}|`, child));
  }
  return problems;
}
