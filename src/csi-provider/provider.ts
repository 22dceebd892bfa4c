import { createHash } from 'node:crypto';
import type { Client } from '../client/index.js';
import { StrongroomError, invalid, isStrongroomError, notFound } from '../shared/errors.js';
import { parseAttributes, parseFileMode, podToken, type ObjectSpec } from './attributes.js';

/**
 * One Mount call: log in as the pod, read every object with the pod's token, and return all files — or fail as a
 * whole. A partial mount would leave an application with some secrets missing and no error to act on.
 *
 * Rotation polls repeat the call with `current_object_version`. Each poll still logs in and reads with the pod's
 * token: the read *is* the authorization check, so a pod whose access was revoked stops receiving the secret at the
 * next poll (a cache keyed on versions would keep serving it). Reads are deduplicated per secret, so several objects
 * taken from one secret cost one request.
 */
export interface MountInput {
  attributes: string;
  targetPath: string;
  permission: string;
  currentObjectVersion: Array<{ id: string; version: string }>;
}

export interface MountedFile {
  path: string;
  mode: number;
  contents: Buffer;
}

export interface MountOutput {
  files: MountedFile[];
  objectVersion: Array<{ id: string; version: string }>;
}

export interface CsiProviderDeps {
  /** Client for a given address (the default one, or a SecretProviderClass's vaultAddress). */
  clientFor(address: string | undefined): Client;
}

interface ReadResult {
  data: Record<string, unknown>;
  /** KV v2 version when the path is a KV v2 data path. */
  kvVersion?: number;
}

export function createCsiProvider(deps: CsiProviderDeps) {
  return {
    async mount(input: MountInput): Promise<MountOutput> {
      const params = parseAttributes(input.attributes);
      const defaultMode = input.permission ? parseDefaultPermission(input.permission) : 0o644;
      const jwt = podToken(params);
      const client = deps.clientFor(params.vaultAddress);

      const login = await client
        .request('POST', `auth/${params.vaultKubernetesMountPath}/login`, { body: { role: params.roleName, jwt } })
        .catch((err: unknown) => {
          throw withContext(
            err,
            `login as ${params.pod.namespace}/${params.pod.serviceAccountName} with role "${params.roleName}" failed`,
          );
        });
      const clientToken: unknown = login.body?.auth?.client_token;
      const token = typeof clientToken === 'string' ? clientToken : '';
      if (!token) throw new StrongroomError('internal', 'login returned no token');

      const reads = new Map<string, Promise<ReadResult>>();
      const readOnce = (spec: ObjectSpec): Promise<ReadResult> => {
        const args = { ...spec.secretArgs, ...(spec.version !== undefined ? { version: spec.version } : {}) };
        const key = `${spec.method} ${spec.secretPath} ${JSON.stringify(args)}`;
        let pending = reads.get(key);
        if (!pending) {
          pending = read(client, token, spec, args);
          reads.set(key, pending);
          pending.catch(() => undefined);
        }
        return pending;
      };

      try {
        const results = await Promise.all(
          params.objects.map(async (spec) => {
            const result = await readOnce(spec).catch((err: unknown) => {
              throw withContext(err, `object "${spec.objectName}" (${spec.secretPath})`);
            });
            const contents = render(spec, result.data);
            const version =
              result.kvVersion !== undefined
                ? String(result.kvVersion)
                : `sha256:${createHash('sha256').update(contents).digest('hex').slice(0, 32)}`;
            return {
              file: { path: spec.objectName, mode: spec.filePermission ?? defaultMode, contents },
              version: { id: spec.objectName, version },
            };
          }),
        );
        return { files: results.map((r) => r.file), objectVersion: results.map((r) => r.version) };
      } finally {
        // The pod's Strongroom token is only needed for this call; revoke it so polls do not pile up live tokens.
        void client.request('POST', 'auth/token/revoke-self', { token }).catch(() => undefined);
      }
    },
  };
}

async function read(
  client: Client,
  token: string,
  spec: ObjectSpec,
  args: Record<string, unknown>,
): Promise<ReadResult> {
  // A secretPath may carry its own query ('secret/data/app?version=2'); secretArgs add to it (GET) or form the body.
  const q = spec.secretPath.indexOf('?');
  const path = q === -1 ? spec.secretPath : spec.secretPath.slice(0, q);
  const query: Record<string, string> =
    q === -1 ? {} : Object.fromEntries(new URLSearchParams(spec.secretPath.slice(q + 1)));
  let body: Record<string, unknown> | undefined;
  if (spec.method === 'GET') {
    for (const [k, v] of Object.entries(args)) query[k] = typeof v === 'string' ? v : JSON.stringify(v);
  } else {
    body = args;
  }
  const response = await client.request(spec.method, path, { token, query, ...(body ? { body } : {}) });
  const data = response.body?.data as Record<string, unknown> | null | undefined;
  if (!data) throw notFound('no data at this path');
  // KV v2 answers { data: {...}, metadata: { version } }: mount the inner data and report its version.
  const metadata = data.metadata as Record<string, unknown> | undefined;
  if (data.data && typeof data.data === 'object' && metadata && typeof metadata.version === 'number') {
    return { data: data.data as Record<string, unknown>, kvVersion: metadata.version };
  }
  return { data };
}

function render(spec: ObjectSpec, data: Record<string, unknown>): Buffer {
  if (spec.secretKey === undefined) return Buffer.from(JSON.stringify(data));
  if (!Object.prototype.hasOwnProperty.call(data, spec.secretKey)) {
    throw notFound(`object "${spec.objectName}": key "${spec.secretKey}" not found in ${spec.secretPath}`);
  }
  const value = data[spec.secretKey];
  if (typeof value !== 'string') return Buffer.from(JSON.stringify(value));
  if (spec.encoding === 'utf-8') return Buffer.from(value, 'utf8');
  if (spec.encoding === 'base64') {
    const compact = value.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
      throw invalid(`object "${spec.objectName}": the value of "${spec.secretKey}" is not valid base64`);
    }
    return Buffer.from(compact, 'base64');
  }
  if (!/^([0-9a-fA-F]{2})*$/.test(value))
    throw invalid(`object "${spec.objectName}": the value of "${spec.secretKey}" is not valid hex`);
  return Buffer.from(value, 'hex');
}

/** The driver sends the volume's default permission as a JSON number string (e.g. "420" for 0644). */
function parseDefaultPermission(text: string): number {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  if (typeof value === 'number') return parseFileMode(value, 'permission');
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return parseFileMode(Number(value), 'permission');
  throw invalid('permission must be a file mode number');
}

function withContext(err: unknown, context: string): unknown {
  if (isStrongroomError(err))
    return new StrongroomError(err.kind, `${context}: ${err.message}`, err.details ? { ...err.details } : undefined);
  return err;
}
