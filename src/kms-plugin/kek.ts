import type { Client } from '../client/index.js';
import { invalid, isStrongroomError } from '../shared/errors.js';

/**
 * The key-encryption key: a Strongroom transit key. The plugin holds no long-lived key material itself; every wrap
 * and unwrap is a transit call, so each one is authorized and audited by the store.
 */
export interface Kek {
  readonly keyName: string;
  encrypt(plaintext: Buffer, associatedData: Buffer): Promise<{ ciphertext: string; version: number }>;
  decrypt(ciphertext: string, associatedData: Buffer): Promise<Buffer>;
  /** Creates the transit key when it is missing and the credentials may; a no-op otherwise. */
  ensureKey(): Promise<void>;
  close(): Promise<void>;
}

/** The KEK reached over Strongroom's HTTP API with the plugin's own token. */
export function createHttpKek(options: {
  client: Client;
  mountPath: string;
  keyName: string;
  token: () => Promise<string>;
}): Kek {
  const { client, keyName } = options;
  const mount = options.mountPath.replace(/^\/+|\/+$/g, '');
  // The client percent-encodes each path segment; a name is one segment, never a path.
  if (keyName === '' || keyName.includes('/')) throw invalid('the transit key name must be one path segment');
  const key = keyName;
  return {
    keyName,
    async encrypt(plaintext, associatedData) {
      const response = await client.request('POST', `${mount}/encrypt/${key}`, {
        token: await options.token(),
        body: { plaintext: plaintext.toString('base64'), associated_data: associatedData.toString('base64') },
      });
      const ciphertext: unknown = response.body?.data?.ciphertext;
      const version = Number(response.body?.data?.key_version);
      if (typeof ciphertext !== 'string' || !Number.isInteger(version) || version < 1) {
        throw new Error('strongroom: unexpected transit encrypt response');
      }
      return { ciphertext, version };
    },
    async decrypt(ciphertext, associatedData) {
      const response = await client.request('POST', `${mount}/decrypt/${key}`, {
        token: await options.token(),
        body: { ciphertext, associated_data: associatedData.toString('base64') },
      });
      const plaintext: unknown = response.body?.data?.plaintext;
      if (typeof plaintext !== 'string') throw new Error('strongroom: unexpected transit decrypt response');
      return Buffer.from(plaintext, 'base64');
    },
    async ensureKey() {
      const token = await options.token();
      try {
        await client.request('GET', `${mount}/keys/${key}`, { token });
        return;
      } catch (err) {
        // A token that may encrypt but not read key metadata is fine: the first encrypt will tell.
        if (isStrongroomError(err, 'forbidden')) return;
        if (!isStrongroomError(err, 'not_found')) throw err;
      }
      try {
        await client.request('POST', `${mount}/keys/${key}`, { token, body: { type: 'aes256-gcm96' } });
      } catch (err) {
        if (!isStrongroomError(err, 'forbidden')) throw err;
      }
    },
    async close() {
      client.close();
    },
  };
}
