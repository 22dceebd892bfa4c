import { parse as parseYaml } from 'yaml';
import { apiPathProblem } from '../shared/api-path.js';
import { invalid } from '../shared/errors.js';

/**
 * The Mount request's `attributes`: the SecretProviderClass `parameters` plus what the driver adds about the pod.
 * Parameter names follow HashiCorp's Vault CSI provider so existing SecretProviderClasses work unchanged.
 */
export type Encoding = 'utf-8' | 'base64' | 'hex';

export interface ObjectSpec {
  /** File name inside the volume; also the object id reported back. */
  objectName: string;
  /** Logical path as in the HTTP API, e.g. 'secret/data/db'. */
  secretPath: string;
  /** One key of the secret's data; absent = the whole data as JSON. */
  secretKey?: string;
  /** Extra request parameters: query string for GET, JSON body for POST. */
  secretArgs: Record<string, unknown>;
  /** File mode; undefined = the volume's default permission. */
  filePermission?: number;
  encoding: Encoding;
  method: 'GET' | 'POST';
  /** Ours: pin a KV v2 version (otherwise the latest is mounted and rotation follows it). */
  version?: number;
}

export interface MountParameters {
  roleName: string;
  vaultAddress?: string;
  vaultKubernetesMountPath: string;
  audience?: string;
  objects: ObjectSpec[];
  pod: { name: string; namespace: string; uid?: string; serviceAccountName: string };
  /** audience → token, from `csi.storage.k8s.io/serviceAccount.tokens` (the CSIDriver's tokenRequests). */
  tokens: Record<string, { token: string; expirationTimestamp?: string }>;
}

const ENCODINGS = new Set<Encoding>(['utf-8', 'base64', 'hex']);

function str(params: Record<string, unknown>, key: string): string | undefined {
  const value = params[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(`parameter "${key}" must be a string`);
  return value;
}

/**
 * objectName becomes a file path in the pod's volume: it must stay inside it. Relative, no '..' or '.' segments,
 * no empty segments, no backslashes or NUL, bounded length.
 */
export function validateObjectName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 253)
    throw invalid('objectName must be 1-253 characters');
  if (name.startsWith('/') || name.includes('\\') || name.includes('\u0000'))
    throw invalid(`objectName "${printable(name)}" must be a relative path inside the volume`);
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      throw invalid(`objectName "${printable(name)}" must not contain empty, "." or ".." path segments`);
  }
}

function printable(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
}

/** Accepts Kubernetes-style octal strings ("0600", "600") or numbers; only permission bits. */
export function parseFileMode(value: unknown, field: string): number {
  let mode: number;
  if (typeof value === 'number') mode = value;
  else if (typeof value === 'string' && /^0?[0-7]{3}$/.test(value.trim())) mode = parseInt(value.trim(), 8);
  else throw invalid(`${field} must be an octal file mode such as "0600"`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw invalid(`${field} must be between 0000 and 0777`);
  return mode;
}

function parseObject(raw: unknown, index: number): ObjectSpec {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`objects[${index}] must be a mapping`);
  const o = raw as Record<string, unknown>;
  const objectName = str(o, 'objectName');
  if (!objectName) throw invalid(`objects[${index}].objectName is required`);
  validateObjectName(objectName);
  const secretPath = str(o, 'secretPath')?.replace(/^\/+/, '').replace(/^v1\//, '');
  if (!secretPath) throw invalid(`objects[${index}] (${objectName}): secretPath is required`);
  // The path goes into a URL: refuse dot segments in every spelling (%2e%2e, .%2E, double-encoded) and encoded
  // separators, which a URL parser or a decoding proxy would resolve to another path than the one written here.
  const pathProblem = apiPathProblem(secretPath);
  if (pathProblem) throw invalid(`objects[${index}] (${objectName}): secretPath ${pathProblem}`);
  const secretKey = str(o, 'secretKey');
  const encodingRaw = (str(o, 'encoding') ?? 'utf-8').toLowerCase();
  const encoding = (encodingRaw === 'utf8' ? 'utf-8' : encodingRaw) as Encoding;
  if (!ENCODINGS.has(encoding))
    throw invalid(`objects[${index}] (${objectName}): encoding must be base64, hex or utf-8`);
  const method = (str(o, 'method') ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'POST')
    throw invalid(`objects[${index}] (${objectName}): method must be GET or POST`);
  const args = o.secretArgs ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args))
    throw invalid(`objects[${index}] (${objectName}): secretArgs must be a mapping`);
  let version: number | undefined;
  if (o.version !== undefined && o.version !== null && o.version !== '') {
    version = Number(o.version);
    if (!Number.isInteger(version) || version < 1)
      throw invalid(`objects[${index}] (${objectName}): version must be a positive integer`);
  }
  return {
    objectName,
    secretPath,
    ...(secretKey !== undefined ? { secretKey } : {}),
    secretArgs: args as Record<string, unknown>,
    ...(o.filePermission !== undefined
      ? { filePermission: parseFileMode(o.filePermission, `objects[${index}].filePermission`) }
      : {}),
    encoding,
    method,
    ...(version !== undefined ? { version } : {}),
  };
}

export function parseObjects(text: string): ObjectSpec[] {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw invalid(
      `parameter "objects" is not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : 'parse error'}`,
    );
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw invalid('parameter "objects" must be a non-empty YAML list');
  const objects = parsed.map(parseObject);
  const seen = new Set<string>();
  for (const o of objects) {
    if (seen.has(o.objectName)) throw invalid(`objectName "${o.objectName}" appears twice`);
    seen.add(o.objectName);
  }
  // A file and a directory of the same name cannot both exist in the volume.
  for (const name of seen) {
    if ([...seen].some((other) => other.startsWith(`${name}/`)))
      throw invalid(`objectName "${name}" is both a file and a directory`);
  }
  return objects;
}

export function parseAttributes(json: string): MountParameters {
  let params: Record<string, unknown>;
  try {
    params = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw invalid('attributes are not valid JSON');
  }
  if (!params || typeof params !== 'object' || Array.isArray(params)) throw invalid('attributes must be a JSON object');
  const roleName = str(params, 'roleName');
  if (!roleName) throw invalid('parameter "roleName" is required');
  const objectsText = str(params, 'objects');
  if (!objectsText) throw invalid('parameter "objects" is required');
  const vaultAddress = str(params, 'vaultAddress');
  const mountPath = (str(params, 'vaultKubernetesMountPath') ?? 'kubernetes')
    .replace(/^\/+|\/+$/g, '')
    .replace(/^auth\//, '');
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(mountPath))
    throw invalid('parameter "vaultKubernetesMountPath" is not a valid mount path');
  const audience = str(params, 'audience');
  const pod = {
    name: str(params, 'csi.storage.k8s.io/pod.name') ?? '',
    namespace: str(params, 'csi.storage.k8s.io/pod.namespace') ?? '',
    serviceAccountName: str(params, 'csi.storage.k8s.io/serviceAccount.name') ?? '',
    ...(str(params, 'csi.storage.k8s.io/pod.uid') ? { uid: str(params, 'csi.storage.k8s.io/pod.uid')! } : {}),
  };
  let tokens: MountParameters['tokens'] = {};
  const tokensText = str(params, 'csi.storage.k8s.io/serviceAccount.tokens');
  if (tokensText) {
    try {
      tokens = JSON.parse(tokensText) as MountParameters['tokens'];
    } catch {
      throw invalid('csi.storage.k8s.io/serviceAccount.tokens is not valid JSON');
    }
  }
  return {
    roleName,
    ...(vaultAddress ? { vaultAddress } : {}),
    vaultKubernetesMountPath: mountPath,
    ...(audience ? { audience } : {}),
    objects: parseObjects(objectsText),
    pod,
    tokens,
  };
}

/**
 * The pod's own service-account token for `audience`. The provider never falls back to a token of its own: a pod
 * gets exactly what its identity is allowed.
 */
export function podToken(params: MountParameters): string {
  const entries = Object.entries(params.tokens ?? {});
  let entry: { token: string } | undefined;
  if (params.audience !== undefined) entry = params.tokens[params.audience];
  else if (entries.length === 1) entry = entries[0]![1];
  else entry = params.tokens[''];
  if (!entry || typeof entry.token !== 'string' || entry.token === '') {
    const wanted = params.audience === undefined ? 'the pod' : `audience "${params.audience}"`;
    throw invalid(
      `no service-account token for ${wanted} in the mount request: add it to the CSIDriver's tokenRequests (spec.tokenRequests) so the driver passes the pod's token`,
    );
  }
  return entry.token;
}
