#!/usr/bin/env node
// One load run with autocannon, in its own process so the load generator never shares an event loop with the server
// under test. Prints one JSON line: { rps, p50, p99, requests, warmupRequests, errors, non2xx, bytes, cpuSeconds }
// (cpuSeconds: this load generator's own CPU, so a run can say how much of the machine the load itself took).
//
// Usage: node bench/load.mjs --url URL [--method GET] [--header 'name: value']... [--body-file FILE]
//                            [--connections 32] [--duration 10] [--warmup 2] [--amount N]
// --amount sends exactly N requests (no warm-up) instead of loading for --duration seconds.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    method: { type: 'string', default: 'GET' },
    header: { type: 'string', multiple: true, default: [] },
    'body-file': { type: 'string' },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    amount: { type: 'string' },
  },
});
if (!values.url) {
  process.stderr.write('load.mjs: --url is required\n');
  process.exit(2);
}

const headers = {};
for (const header of values.header) {
  const at = header.indexOf(':');
  if (at <= 0) throw new Error(`bad --header ${JSON.stringify(header)}; expected "name: value"`);
  headers[header.slice(0, at).trim().toLowerCase()] = header.slice(at + 1).trim();
}
const body = values['body-file'] ? readFileSync(values['body-file'], 'utf8') : undefined;
if (body !== undefined) headers['content-type'] ??= 'application/json';

const amount = values.amount === undefined ? undefined : Number(values.amount);
const run = (duration) =>
  autocannon({
    ...(amount !== undefined ? { amount } : {}),
    url: values.url,
    method: values.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    connections: Number(values.connections),
    duration,
    // Keep-alive connections with one request in flight each, as real clients use a server.
    pipelining: 1,
  });

// The warm-up lets V8 optimise the hot path and fills caches; only the second run is reported.
const warm = amount === undefined && Number(values.warmup) > 0 ? await run(Number(values.warmup)) : null;
const result = await run(Number(values.duration));

process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    warmupRequests: warm ? warm.requests.total : 0,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    bytes: result.throughput.total,
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  })}\n`,
);
