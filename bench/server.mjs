#!/usr/bin/env node
// The baseline: a bare Fastify server (same Fastify as Strongroom, default settings, no logging) with one route that
// returns a given JSON document, serialized per request like any Fastify JSON reply. The KV read benchmark is
// measured against it, so "how much does Strongroom add" is a ratio on the same machine in the same run.
//
// Usage: node bench/server.mjs --body-file FILE   (prints "bare server listening on URL")
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { 'body-file': { type: 'string' } } });
if (!values['body-file']) {
  process.stderr.write('server.mjs: --body-file is required\n');
  process.exit(2);
}
const document = JSON.parse(readFileSync(values['body-file'], 'utf8'));

const app = Fastify({ logger: false });
app.get('/bare', async () => document);
await app.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.address();
process.stdout.write(`bare server listening on http://127.0.0.1:${port}\n`);

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
