/**
 * Runs the Kubernetes API double on its own: `npm run kube-api -- --port 8001 [--kubeconfig PATH] [--token T]`.
 * Prints the URL (and the kubeconfig path when asked), then serves until interrupted.
 */
import { parseArgs } from 'node:util';
import { createKubeApiServer, writeKubeconfig } from './kube-api/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    kubeconfig: { type: 'string' },
    token: { type: 'string', multiple: true },
    'tick-ms': { type: 'string' },
  },
});

const server = await createKubeApiServer({
  port: Number(values.port),
  host: values.host,
  ...(values.token ? { auth: { tokens: values.token } } : {}),
  ...(values['tick-ms'] ? { tickMs: Number(values['tick-ms']) } : {}),
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
