import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { StrongroomError } from '../shared/errors.js';
import { KEY_BYTES } from './aead.js';

/**
 * Vault's `seal "transit"`: the unseal key is encrypted by a transit key on another Strongroom or Vault server, so
 * a restart unseals through that server's `transit/decrypt` with no one at the keyboard.
 * https://developer.hashicorp.com/vault/docs/configuration/seal/transit
 */
export interface TransitSealConfig {
  /** The unsealer's address, e.g. https://unsealer:8200 (no path). */
  address: string;
  /** A token allowed to update `<mount_path>/encrypt/<key_name>` and `<mount_path>/decrypt/<key_name>`. */
  token: string;
  keyName: string;
  /** Default `transit/`. */
  mountPath: string;
  namespace?: string;
  tlsCaCert?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
  tlsServerName?: string;
  tlsSkipVerify: boolean;
  /**
   * Vault's `disable_renewal`: when false (the default) the server keeps the token alive with `renew-self` (see
   * transit-token-renewal.ts); set it when something else (an agent) manages the token's lifetime.
   */
  disableRenewal: boolean;
  /**
   * Vault's `disabled = "true"`: the stanza is kept only to migrate away from it (transit → Shamir); the store
   * does not unseal itself through it.
   */
  disabled: boolean;
}

/** Wraps and unwraps key material with the unsealer's transit key. */
export interface TransitUnsealer {
  /** Where the key lives, for log lines (never the token). */
  readonly describe: string;
  wrap(key: Buffer): Promise<string>;
  /** The caller wipes the returned key. */
  unwrap(ciphertext: string): Promise<Buffer>;
}

/**
 * Why a call to the unsealer failed, in words safe for logs and API errors: status codes and the unsealer's
 * error strings, never the token or a key.
 */
export class TransitSealError extends StrongroomError {
  /** The unsealer's HTTP status, when it answered. */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super('unavailable', message);
    this.status = status;
  }
}

const TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 64 * 1024;

export function createTransitUnsealer(config: TransitSealConfig): TransitUnsealer {
  const client = createUnsealerClient(config);
  const mount = config.mountPath.replace(/^\/+|\/+$/g, '');
  const key = encodeURIComponent(config.keyName);
  const describe = `transit key "${config.keyName}" at ${client.origin}/v1/${mount}/`;

  const post = (operation: 'encrypt' | 'decrypt', body: Record<string, string>) =>
    client.call(`${mount}/${operation}/${key}`, body, `${operation} with ${describe}`);

  return {
    describe,
    async wrap(secret) {
      const answer = await post('encrypt', { plaintext: secret.toString('base64') });
      const ciphertext = dataField(answer, 'ciphertext');
      if (!ciphertext) throw new TransitSealError(`encrypt with ${describe} answered without a ciphertext`);
      return ciphertext;
    },
    async unwrap(ciphertext) {
      const answer = await post('decrypt', { ciphertext });
      const plaintext = dataField(answer, 'plaintext');
      if (plaintext === undefined) throw new TransitSealError(`decrypt with ${describe} answered without a plaintext`);
      const key = Buffer.from(plaintext, 'base64');
      if (key.length !== KEY_BYTES) {
        key.fill(0);
        throw new TransitSealError(`decrypt with ${describe} answered with something that is not a 256-bit key`);
      }
      return key;
    },
  };
}

/** Calls to the unsealer's API with the seal's token, address, namespace and TLS settings. */
export interface UnsealerClient {
  readonly origin: string;
  /**
   * POSTs `body` to `/v1/<path>` and resolves with the parsed 2xx answer. `what` names the call in errors, which
   * carry the status and the unsealer's error strings, never the token.
   */
  call(path: string, body: Record<string, unknown>, what: string): Promise<Record<string, unknown>>;
}

export function createUnsealerClient(config: TransitSealConfig): UnsealerClient {
  const base = new URL(config.address);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new StrongroomError('invalid', 'seal.address must be an http:// or https:// URL');
  }
  const tls =
    base.protocol === 'https:'
      ? {
          ...(config.tlsCaCert ? { ca: readFileSync(config.tlsCaCert) } : {}),
          ...(config.tlsClientCert ? { cert: readFileSync(config.tlsClientCert) } : {}),
          ...(config.tlsClientKey ? { key: readFileSync(config.tlsClientKey) } : {}),
          ...(config.tlsServerName ? { servername: config.tlsServerName } : {}),
          rejectUnauthorized: !config.tlsSkipVerify,
        }
      : {};

  function unreachable(err: Error): TransitSealError {
    const code = (err as NodeJS.ErrnoException).code;
    return new TransitSealError(`the unsealer at ${base.origin} cannot be reached: ${code ?? err.message}`);
  }

  function call(path: string, body: Record<string, unknown>, what: string): Promise<Record<string, unknown>> {
    const url = new URL(`/v1/${path}`, base);
    const payload = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(payload.length),
      'x-vault-token': config.token,
      ...(config.namespace ? { 'x-vault-namespace': config.namespace } : {}),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'POST', headers, timeout: TIMEOUT_MS, ...tls }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          // An answer carries one small ciphertext or key: anything larger is not an unsealer speaking.
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300 && parsed && typeof parsed === 'object') {
            resolve(parsed as Record<string, unknown>);
            return;
          }
          reject(new TransitSealError(`${what} failed: ${status} ${errorsOf(parsed)}`, status));
        });
        res.on('error', (err) => reject(unreachable(err)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      req.on('error', (err) => reject(unreachable(err)));
      req.end(payload);
    });
  }

  return { origin: base.origin, call };
}

function dataField(answer: Record<string, unknown>, name: string): string | undefined {
  const data = answer.data as Record<string, unknown> | undefined;
  const value = data?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** The unsealer's `errors` (Vault's shape), cut short: they name the problem ("permission denied", "Vault is sealed"). */
function errorsOf(body: unknown): string {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors
      .map((e) => String(e))
      .join('; ')
      .slice(0, 300);
  }
  return '(no error message)';
}
