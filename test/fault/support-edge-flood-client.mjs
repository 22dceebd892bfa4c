// Fault-suite helper (large-body-flood.test.ts): floods a Strongroom server with ~1 MiB KV writes from its own
// process, so the test process that measures sys/health is not slowed by the flood it measures.
//
// node support-edge-flood-client.mjs <base-url> <token> <connections> <milliseconds> [honor-retry-after|ignore-retry-after]
// Each of <connections> clients posts on a fresh connection, again and again, until the time is up (bounded in count
// by time; 127.0.0.1 only). A client told 503 waits the Retry-After seconds first, as Vault's own clients back off,
// unless 'ignore-retry-after' is given. Prints one JSON line: { statuses: { "200": n, "503": n, "ECONNRESET": n, ... },
// retryAfter: [values seen] }.
import http from 'node:http';

const [base, token, connectionsText, millisecondsText, mode = 'honor-retry-after'] = process.argv.slice(2);
const honorRetryAfter = mode !== 'ignore-retry-after';
const url = new URL(base);
if (url.hostname !== '127.0.0.1') throw new Error('the flood only targets 127.0.0.1');
const connections = Number(connectionsText);
const deadline = Date.now() + Number(millisecondsText);
// A valid KV write whose value stays under the default 1 MiB per-version limit.
const body = Buffer.from(JSON.stringify({ data: { blob: 'x'.repeat(1_000_000) } }));
const statuses = {};
const retryAfter = new Set();

function post(path) {
  return new Promise((resolve) => {
    let settled = false;
    const done = (status) => {
      if (settled) return;
      settled = true;
      statuses[status] = (statuses[status] ?? 0) + 1;
      resolve();
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port: url.port,
        method: 'POST',
        path: `/v1/${path}`,
        agent: false,
        timeout: 60_000,
        headers: { 'x-vault-token': token, 'content-type': 'application/json', 'content-length': String(body.length) },
      },
      (res) => {
        const wait = res.headers['retry-after'];
        if (wait) retryAfter.add(wait);
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 503 && wait && honorRetryAfter)
            setTimeout(() => done(res.statusCode), Number(wait) * 1000);
          else done(res.statusCode);
        });
        res.on('error', () => done(res.statusCode));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => done(err.code ?? 'error'));
    req.end(body);
  });
}

await Promise.all(
  Array.from({ length: connections }, async (_, n) => {
    for (let round = 0; Date.now() < deadline; round++) await post(`secret/data/flood/c${n}-${round % 4}`);
  }),
);
process.stdout.write(`${JSON.stringify({ statuses, retryAfter: [...retryAfter] })}\n`);
