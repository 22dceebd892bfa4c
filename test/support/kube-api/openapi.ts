/**
 * OpenAPI documents, generated from the registry so custom resources appear as soon as their CRD is established.
 *
 * What kubectl does with them decides what they contain:
 * - `kubectl apply|create` (validation `strict`, the default) first downloads `/openapi/v2` — always as the gnostic
 *   protobuf `Document`, whatever it is sent back — and fails ("failed to download openapi") without it.
 * - It then asks OpenAPI v3 whether the object's kind supports the `fieldValidation` query parameter: a PATCH operation
 *   tagged with the kind's `x-kubernetes-group-version-kind` that lists the parameter. When it does, kubectl sends
 *   `?fieldValidation=Strict` and leaves validation to the server (server.ts honours it), as against a real cluster.
 * So v3 carries every kind's operations and schema (a CRD's own `openAPIV3Schema`; for built-ins an open object: the
 * double validates built-ins by hand, in builtins.ts), and v2 is a valid document with no definitions: kubectl's
 * client-side fallback skips kinds it has no schema for, which only matters if v3 were unreachable.
 */
import { createHash } from 'node:crypto';
import { KUBERNETES_VERSION } from './discovery.js';
import { apiVersionOf, type Registry, type ResourceType } from './registry.js';

const groupVersionPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

/** `/openapi/v3`: where each group version's document is, with a content hash so clients may cache it. */
export function openApiV3Discovery(registry: Registry) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [group, versions] of registry.groupVersions()) {
    for (const version of versions) {
      const path = groupVersionPath(group, version);
      const hash = createHash('sha512')
        .update(JSON.stringify(openApiV3GroupVersion(registry, group, version)))
        .digest('hex')
        .slice(0, 128)
        .toUpperCase();
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
    }
  }
  return { paths };
}

/** `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`; undefined for a group version nobody serves. */
export function openApiV3GroupVersion(registry: Registry, group: string, version: string) {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const type of types) {
    const key = schemaKey(type);
    schemas[key] = schemaOf(type);
    const ref = { $ref: `#/components/schemas/${key}` };
    const gvk = { group: type.group, version: type.version, kind: type.kind };
    const collection = `/${groupVersionPath(group, version)}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.plural}`;
    const op = (action: string, extra: Record<string, unknown> = {}) => ({
      operationId: `${action}${type.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } },
      ...extra,
    });
    const writeParams = [queryParam('dryRun'), queryParam('fieldManager'), queryParam('fieldValidation')];
    const body = (contentTypes: string[]) => ({
      requestBody: { required: true, content: Object.fromEntries(contentTypes.map((c) => [c, { schema: ref }])) },
    });
    const pathParams = [
      ...(type.namespaced ? [pathParam('namespace')] : []),
      ...(type.virtual ? [] : [pathParam('name')]),
    ];
    paths[collection] = {
      ...(type.virtual ? {} : { get: op('list') }),
      post: op('post', { parameters: writeParams, ...body(['application/json']) }),
      ...(type.namespaced ? { parameters: [pathParam('namespace')] } : {}),
    };
    if (type.virtual) continue;
    paths[`${collection}/{name}`] = {
      get: op('get'),
      put: op('put', { parameters: writeParams, ...body(['application/json']) }),
      delete: op('delete', { parameters: [queryParam('dryRun'), queryParam('propagationPolicy')] }),
      // No strategic-merge-patch here even for built-ins: the schemas carry no patch strategies, so kubectl computes
      // its strategic patches from its own compiled-in types, as it does for any kind v3 does not describe.
      patch: op('patch', {
        parameters: [...writeParams, queryParam('force')],
        ...body(['application/json-patch+json', 'application/merge-patch+json']),
      }),
      parameters: pathParams,
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion },
    paths,
    components: { schemas },
  };
}

const queryParam = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
const pathParam = (name: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string', uniqueItems: true },
});

/** Kubernetes names schemas by reversed group and kind: `io.k8s.api.apps.v1.Deployment`, `io.strongroom.v1.ExternalSecret`. */
function schemaKey(type: ResourceType): string {
  if (type.group === '') return `io.k8s.api.core.${type.version}.${type.kind}`;
  if (type.group.endsWith('.k8s.io') || !type.group.includes('.'))
    return `io.k8s.api.${type.group.replace(/\.k8s\.io$/, '').replace(/\./g, '')}.${type.version}.${type.kind}`;
  return `${type.group.split('.').reverse().join('.')}.${type.version}.${type.kind}`;
}

function schemaOf(type: ResourceType): Record<string, unknown> {
  const gvk = [{ group: type.group, version: type.version, kind: type.kind }];
  const envelope = {
    apiVersion: { type: 'string', description: `${apiVersionOf(type)}` },
    kind: { type: 'string', description: type.kind },
    metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  };
  if (type.schema) {
    const schema = type.schema as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, unknown>;
    return { ...schema, properties: { ...envelope, ...properties }, 'x-kubernetes-group-version-kind': gvk };
  }
  return {
    type: 'object',
    description: `${type.kind} (the Kubernetes API double validates built-in kinds itself)`,
    properties: envelope,
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-group-version-kind': gvk,
  };
}

/**
 * `/openapi/v2` as kubectl reads it: protobuf `openapi.v2.Document` (github.com/google/gnostic) with `swagger`
 * (field 1) and `info` (field 2: title 1, version 2). No paths or definitions: see the module comment.
 */
export function openApiV2Protobuf(): Buffer {
  const info = Buffer.concat([protoString(1, 'Kubernetes'), protoString(2, KUBERNETES_VERSION.gitVersion)]);
  return Buffer.concat([protoString(1, '2.0'), protoBytes(2, info)]);
}

/** The same document as JSON, for clients that ask for it. */
export function openApiV2Json() {
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion },
    paths: {},
    definitions: {},
  };
}

function protoBytes(field: number, value: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(value.length), value]);
}
const protoString = (field: number, value: string) => protoBytes(field, Buffer.from(value, 'utf8'));

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}
