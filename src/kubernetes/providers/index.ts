/** Picks the provider a store spec names. */
import type { StoreProviderSpec } from '../api/secret-store.js';
import type { Provider } from '../types.js';
import { awsProvider } from './aws.js';
import { kubernetesProvider } from './kubernetes.js';
import { vaultProvider } from './vault.js';

export const PROVIDERS: Record<keyof StoreProviderSpec, Provider> = {
  vault: vaultProvider,
  kubernetes: kubernetesProvider,
  aws: awsProvider,
};

export function providerName(spec: StoreProviderSpec): keyof StoreProviderSpec {
  const name = (Object.keys(PROVIDERS) as (keyof StoreProviderSpec)[]).find((k) => spec[k] !== undefined);
  if (!name) throw new Error('the store names no provider');
  return name;
}
