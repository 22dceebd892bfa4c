/**
 * Runs the Kubernetes API double on its own: `npm run kube-api -- --port 8001 [--kubeconfig PATH] [--token T]
 * [--addon cert-manager --addon secrets-store-csi-driver | --no-addons]` (default: cert-manager's CRDs installed).
 * Prints the URL (and the kubeconfig path when asked), then serves until interrupted.
 */
import { parseArgs } from 'node:util';
import { createKubeApiServer, writeKubeconfig, type Addon } from './kube-api/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    kubeconfig: { type: 'string' },
    token: { type: 'string', multiple: true },
    'tick-ms': { type: 'string' },
    addon: { type: 'string', multiple: true },
    'no-addons': { type: 'boolean' },
  },
});
const ADDONS: readonly Addon[] = ['cert-manager', 'secrets-store-csi-driver'];
const addons = values['no-addons'] ? [] : values.addon;
for (const addon of addons ?? [])
  if (!ADDONS.includes(addon as Addon)) throw new Error(`unknown --addon ${addon}: one of ${ADDONS.join(', ')}`);

const server = await createKubeApiServer({
  port: Number(values.port),
  host: values.host,
  ...(values.token ? { auth: { tokens: values.token } } : {}),
  ...(values['tick-ms'] ? { tickMs: Number(values['tick-ms']) } : {}),
  ...(addons ? { addons: addons as Addon[] } : {}),
});
console.log(`Kubernetes API double listening on ${server.url}`);
if (values.kubeconfig !== undefined) {
  const path = await writeKubeconfig(server.url, { path: values.kubeconfig, token: values.token?.[0] });
  console.log(`kubeconfig written to ${path}`);
}
const shutdown = () => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
