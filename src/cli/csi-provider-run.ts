import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createCsiProvider } from '../csi-provider/provider.js';
import { serveCsiProvider } from '../csi-provider/server.js';
import { onTermination } from '../kms-plugin/grpc-unix.js';
import { createClient, type Client } from '../client/index.js';
import { readCaCert } from './connection.js';

export interface CsiFlags {
  socket: string;
  address?: string;
  caCert?: string;
  timeout: string;
}

export async function runCsiProvider(flags: CsiFlags): Promise<void> {
  const socketPath = resolve(flags.socket);
  const timeoutMs = Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 30_000)
    throw new Error('--timeout must be 100..30000 ms');
  const defaultAddress = flags.address ?? process.env.STRONGROOM_ADDR;
  const ca = readCaCert(flags.caCert);
  /**
   * The store's CA, for store connections only. The default store is verified against it alone (as VAULT_CACERT); a
   * store a SecretProviderClass names with vaultAddress may have a certificate from a public CA or from this one.
   */
  const caFor = (address: string) =>
    !ca ? {} : address === defaultAddress ? { ca } : { ca: [...rootCertificates, ca] };
  const clients = new Map<string, Client>();
  const provider = createCsiProvider({
    clientFor(address) {
      const chosen = address ?? defaultAddress;
      if (!chosen)
        throw new Error(
          'no Strongroom address: pass --address, set STRONGROOM_ADDR, or set vaultAddress in the SecretProviderClass',
        );
      let client = clients.get(chosen);
      if (!client) {
        client = createClient({ address: chosen, ...caFor(chosen), timeoutMs, userAgent: 'strongroom-csi-provider' });
        clients.set(chosen, client);
      }
      return client;
    },
  });
  const server = await serveCsiProvider(provider, socketPath);
  console.error(`strongroom csi-provider: serving on unix://${socketPath}`);
  onTermination(() => server.stop());
}
