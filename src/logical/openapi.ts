import { z } from 'zod';
import { fieldsFor, type BackendPath, type Operation } from './backend.js';
import { isRequiredField, type FieldSet } from './schema.js';

/**
 * OpenAPI 3.0 from the backends' own declarations, as Vault's sys/internal/specs/openapi and `?help=1` produce it:
 * one path per route template (a pattern's optional parts expanded, named groups as `{parameters}`), operations per
 * method (a list is a GET with `list=true` on the trailing-slash form, as Vault documents it), request bodies and
 * query parameters from the declared fields, and Vault's x-vault-* extensions.
 */
export interface DocumentedBackend {
  /** Where the backend is served, e.g. 'sys/', 'auth/token/', 'secret/'. */
  prefix: string;
  paths: readonly BackendPath[];
  /** The OpenAPI tag (Vault tags by mount kind: 'system', 'auth', 'secrets'). */
  tag: string;
}

export type OpenApiDocument = {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, Record<string, unknown>>;
} & Record<string, unknown>;

type Schema = Record<string, unknown>;

const METHOD_FOR: Record<Exclude<Operation, 'list'>, 'get' | 'post' | 'patch' | 'delete'> = {
  read: 'get',
  create: 'post',
  update: 'post',
  patch: 'patch',
  delete: 'delete',
};

/** The `info.version` of generated documents. */
export const API_VERSION = '1.0.0';

export function openApiDocument(backends: readonly DocumentedBackend[], version = API_VERSION): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const state = newState();
  for (const backend of backends) {
    for (const def of backend.paths) addPath(paths, state, backend, def);
  }
  return {
    openapi: '3.0.2',
    info: {
      title: 'Strongroom API',
      description: 'The Vault-compatible HTTP API of Strongroom. All API routes are prefixed with `/v1/`.',
      version,
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    paths,
  };
}

/** The OpenAPI paths object of one backend path (for `?help=1`). */
export function openApiPaths(backend: DocumentedBackend, def: BackendPath): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  addPath(paths, newState(), backend, def);
  return paths;
}

/** Vault's help text for a path: synopsis, description and the fields. */
export function helpText(def: BackendPath): string {
  const lines = [`## DESCRIPTION`, '', def.synopsis ?? `Serves ${def.name ?? def.pattern}.`];
  if (def.description) lines.push('', def.description);
  const fields = { ...def.queryFields, ...def.fields };
  if (Object.keys(fields).length > 0) {
    lines.push('', '## PARAMETERS');
    for (const [name, schema] of Object.entries(fields)) {
      const json = fieldSchema(schema);
      lines.push(
        '',
        `${name} (${typeof json.type === 'string' ? json.type : 'any'})`,
        `    ${typeof json.description === 'string' ? json.description : ''}`,
      );
    }
  }
  return lines.join('\n');
}

interface BuildState {
  operationIds: Set<string>;
  /** Route by shape (parameter names blanked): OpenAPI forbids two templates that differ only in parameter names. */
  byShape: Map<string, string>;
}

const newState = (): BuildState => ({ operationIds: new Set(), byShape: new Map() });

/** A template with its parameter names blanked ('/transit/random/{}'): equal shapes are one OpenAPI path. */
export function templateShape(route: string): string {
  return route.replace(/\{[^}]+\}/g, '{}');
}

function addPath(
  paths: Record<string, Record<string, unknown>>,
  state: BuildState,
  backend: DocumentedBackend,
  def: BackendPath,
): void {
  const templates = routeTemplates(def.pattern);
  const enums = groupEnums(def.pattern);
  const extensions = {
    ...(def.sudo ? { 'x-vault-sudo': true } : {}),
    ...(def.unauthenticated ? { 'x-vault-unauthenticated': true } : {}),
    ...(def.existenceCheck ? { 'x-vault-createSupported': true } : {}),
  };
  for (const template of templates) {
    for (const [op, handler] of Object.entries(def.operations) as Array<[Operation, unknown]>) {
      if (!handler) continue;
      const isList = op === 'list';
      const templated = `/${backend.prefix}${template}${isList && !template.endsWith('/') && template !== '' ? '/' : ''}`;
      // A template of the same shape as one already documented (random/{bytes} and random/{source}) joins it.
      const route = state.byShape.get(templateShape(templated)) ?? templated;
      state.byShape.set(templateShape(route), route);
      const method = isList ? 'get' : METHOD_FOR[op];
      const item = (paths[route] ??= { ...extensions, parameters: pathParameters(route, def, enums) });
      // create and update share POST (Vault tells them apart by the existence check, not the method).
      if (item[method]) continue;
      item[method] = operation(op, method, route, def, backend.tag, state.operationIds);
    }
  }
}

function operation(
  op: Operation,
  method: string,
  route: string,
  def: BackendPath,
  tag: string,
  ids: Set<string>,
): Schema {
  const summary = def.synopsis ?? `${op} ${def.name ?? route}`;
  const result: Schema = { summary, operationId: uniqueId(`${op}${route}`, ids), tags: [tag] };
  if (def.description) result.description = def.description;
  const fields = fieldsFor(def, op);
  const pathParams = new Set(paramNames(route));
  if (method === 'get' || method === 'delete') {
    const query = Object.entries(fields ?? {})
      .filter(([name]) => !pathParams.has(name))
      .map(([name, schema]) => {
        const json = fieldSchema(schema);
        return {
          name,
          in: 'query',
          ...(json.description ? { description: json.description } : {}),
          required: isRequiredField(schema),
          schema: json,
        };
      });
    if (op === 'list')
      query.push({
        name: 'list',
        in: 'query',
        description: 'Must be set to `true`',
        required: true,
        schema: { type: 'string', enum: ['true'] },
      });
    if (query.length > 0) result.parameters = query;
  } else {
    result.requestBody = { content: { 'application/json': { schema: bodySchema(fields, pathParams) } } };
  }
  result.responses =
    op === 'read' || op === 'list'
      ? { '200': { description: 'OK' } }
      : { '200': { description: 'OK' }, '204': { description: 'empty body' } };
  return result;
}

function bodySchema(fields: FieldSet | undefined, pathParams: Set<string>): Schema {
  // A path without declarations takes a free-form object (a KV v1 secret, Vault's own undeclared bodies).
  if (!fields) return { type: 'object', additionalProperties: true };
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [name, schema] of Object.entries(fields)) {
    if (pathParams.has(name)) continue;
    properties[name] = fieldSchema(schema);
    if (isRequiredField(schema)) required.push(name);
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
}

const fieldSchemas = new WeakMap<z.ZodType, Schema>();

/** One field's schema as OpenAPI 3.0 sees it: the wire form (a duration is a string), from zod's own generator. */
export function fieldSchema(schema: z.ZodType): Schema {
  let json = fieldSchemas.get(schema);
  if (!json) {
    json = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' }) as Schema;
    delete json.$schema;
    fieldSchemas.set(schema, json);
  }
  return json;
}

function pathParameters(route: string, def: BackendPath, enums: Map<string, string[]>): Schema[] {
  return paramNames(route).map((name) => {
    const declared = def.fields?.[name] ?? def.queryFields?.[name];
    const description = declared ? fieldSchema(declared).description : undefined;
    const values = enums.get(name);
    return {
      name,
      in: 'path',
      required: true,
      ...(typeof description === 'string' ? { description } : {}),
      schema: values ? { type: 'string', enum: values } : { type: 'string' },
    };
  });
}

function paramNames(route: string): string[] {
  return [...route.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
}

function uniqueId(raw: string, ids: Set<string>): string {
  const base = raw
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
  ids.add(id);
  return id;
}

// --- route patterns → templates -------------------------------------------------------------------------------

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'param'; name: string; body: string }
  | { kind: 'group'; alternatives: Node[][] }
  | { kind: 'optional'; node: Node }
  | { kind: 'wild' };

/**
 * The OpenAPI templates a route pattern serves: named groups become `{name}`, optional parts and alternations are
 * expanded (Vault's framework expands its patterns the same way). A trailing optional slash adds no template of its
 * own. Unnamed wildcards outside a named group are refused: they would be a route parameter without a name.
 */
export function routeTemplates(pattern: string): string[] {
  const nodes = parseSequence(pattern, { at: 0 }, false);
  const expanded = [...new Set(expandSequence(nodes, pattern))];
  return expanded.filter((t) => !(t.endsWith('/') && expanded.includes(t.slice(0, -1))));
}

/** Named groups that are a plain alternation of words (e.g. a hash algorithm) have an enum. */
function groupEnums(pattern: string): Map<string, string[]> {
  const enums = new Map<string, string[]>();
  const visit = (nodes: Node[]) => {
    for (const node of nodes) {
      if (node.kind === 'param' && /^[A-Za-z0-9_-]+(?:\|[A-Za-z0-9_-]+)*$/.test(node.body))
        enums.set(node.name, node.body.split('|'));
      if (node.kind === 'group') node.alternatives.forEach(visit);
      if (node.kind === 'optional') visit([node.node]);
    }
  };
  visit(parseSequence(pattern, { at: 0 }, false));
  return enums;
}

function parseSequence(src: string, pos: { at: number }, inGroup: boolean): Node[] {
  const alternatives: Node[][] = [[]];
  while (pos.at < src.length) {
    const c = src[pos.at] as string;
    if (c === ')' && inGroup) break;
    if (c === '|') {
      alternatives.push([]);
      pos.at++;
      continue;
    }
    let node: Node;
    if (c === '(') {
      node = parseGroup(src, pos);
    } else if (c === '\\') {
      const next = src[pos.at + 1] ?? '';
      node = /[A-Za-z]/.test(next) ? { kind: 'wild' } : { kind: 'text', text: next };
      pos.at += 2;
    } else if (c === '[' || c === '.') {
      if (c === '[') pos.at = src.indexOf(']', pos.at) + 1;
      else pos.at++;
      node = { kind: 'wild' };
    } else {
      node = { kind: 'text', text: c };
      pos.at++;
    }
    const q = src[pos.at];
    if (q === '?') {
      node = { kind: 'optional', node };
      pos.at++;
    } else if (q === '*' || q === '+') {
      node = { kind: 'wild' };
      pos.at++;
    }
    if (src[pos.at] === '?') pos.at++; // a lazy quantifier matches the same strings
    (alternatives[alternatives.length - 1] as Node[]).push(node);
  }
  return alternatives.length === 1 ? (alternatives[0] as Node[]) : [{ kind: 'group', alternatives }];
}

function parseGroup(src: string, pos: { at: number }): Node {
  const named = /^\(\?<([A-Za-z][A-Za-z0-9_]*)>/.exec(src.slice(pos.at));
  if (named) {
    const start = pos.at + named[0].length;
    pos.at = start;
    parseSequence(src, pos, true); // only to find the closing parenthesis
    const body = src.slice(start, pos.at);
    pos.at++;
    return { kind: 'param', name: named[1] as string, body };
  }
  pos.at += src.startsWith('(?:', pos.at) ? 3 : 1;
  const inner = parseSequence(src, pos, true);
  pos.at++;
  const only = inner.length === 1 ? inner[0] : undefined;
  return only?.kind === 'group' ? only : { kind: 'group', alternatives: [inner] };
}

function expandSequence(nodes: Node[], pattern: string): string[] {
  let out = [''];
  for (const node of nodes) {
    const options = expandNode(node, pattern);
    out = out.flatMap((prefix) => options.map((o) => prefix + o));
  }
  return out;
}

function expandNode(node: Node, pattern: string): string[] {
  switch (node.kind) {
    case 'text':
      return [node.text];
    case 'param':
      return [`{${node.name}}`];
    case 'group':
      return node.alternatives.flatMap((alt) => expandSequence(alt, pattern));
    case 'optional':
      return ['', ...expandNode(node.node, pattern)];
    case 'wild':
      throw new Error(`route pattern ${pattern} has an unnamed wildcard: name it with (?<name>...)`);
  }
}
