import type http from 'node:http';

/**
 * Admission control for the HTTP listener: bounds the request bytes held in memory and the number of requests in
 * progress, deciding on each request as soon as its headers are parsed — before a byte of its body is read. Without
 * it, a few hundred clients posting ~1 MiB bodies at once made the process buffer all of them (RSS past 1.2 GiB)
 * and starved every other request, `sys/health` included.
 *
 * - A request that declares its body (Content-Length) reserves that many bytes up front; if the reservation does not
 *   fit, it is refused at once with 503 and `Retry-After`, and the connection is closed instead of reading the body.
 * - A chunked body reserves its bytes as they arrive; once it no longer fits it is cut off the same way.
 * - Requests without a body never count against the byte bound, and requests with one may use only part of the
 *   concurrency bound: health checks and other small requests are never stuck behind a flood of big bodies.
 * - The budget is released when the response ends or the client goes away, whichever is first.
 */
export interface AdmissionLimits {
  /** Most request-body bytes held by requests in progress together. */
  maxInflightBytes: number;
  /** Most requests in progress at once. */
  maxConcurrentRequests: number;
  /** The per-request body limit: a larger declared body is left to the framework's 413 and reserves nothing. */
  maxBodyBytes: number;
  /**
   * Seconds a refused client is told to wait (Retry-After): a whole number drawn from 1 to this (default 3). Clients
   * refused together must not all come back in the same second: the whole herd then queues ahead of everything else.
   */
  maxRetryAfterSeconds?: number;
}

export interface AdmissionStats {
  inflightRequests: number;
  inflightBytes: number;
  /** Requests refused (or cut off) since start. */
  refused: number;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** How a request's body bytes are reported as they arrive (see TaggedIncomingMessage in list-method.ts). */
export type ObserveBody = (req: http.IncomingMessage, onBytes: ((bytes: number) => void) | undefined) => void;

export interface Admission {
  wrap(handler: Handler): Handler;
  stats(): AdmissionStats;
}

/** The error a cut-off chunked body reaches the framework's body reader with: it answers 503 with it. */
export class OverloadedError extends Error {
  readonly statusCode = 503;
  readonly code = 'STRONGROOM_OVERLOADED';
  constructor(readonly retryAfterSeconds: number) {
    super('the server is busy with other requests; retry later');
  }
}

export function createAdmission(limits: AdmissionLimits, observeBody: ObserveBody): Admission {
  const maxRetryAfter = Math.max(1, Math.floor(limits.maxRetryAfterSeconds ?? 3));
  const retryAfter = () => 1 + Math.floor(Math.random() * maxRetryAfter);
  // Requests with a body may fill the concurrency bound only up to this; the rest is kept for bodiless ones.
  const bodyConcurrency = Math.max(
    1,
    limits.maxConcurrentRequests - Math.max(1, Math.floor(limits.maxConcurrentRequests / 16)),
  );
  let inflightRequests = 0;
  let inflightBytes = 0;
  let refused = 0;

  function refuse(res: http.ServerResponse): void {
    refused++;
    const body = JSON.stringify({ errors: ['the server is busy with other requests; retry later'] });
    // The body (if any) is not read: close the connection after the answer rather than drain it.
    res.shouldKeepAlive = false;
    res.writeHead(503, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'retry-after': String(retryAfter()),
      connection: 'close',
    });
    res.end(body);
    // Stop reading the connection now (its body is not wanted); it closes once the answer is written.
    const socket = res.socket;
    if (socket) {
      socket.pause();
      socket.once('finish', () => socket.destroy());
    }
  }

  function wrap(handler: Handler): Handler {
    return (req, res) => {
      const chunked = req.headers['transfer-encoding'] !== undefined;
      const declared = Number(req.headers['content-length'] ?? 0) || 0;
      const hasBody = chunked || declared > 0;
      if (inflightRequests >= (hasBody ? bodyConcurrency : limits.maxConcurrentRequests)) return refuse(res);
      // Content-Length is what the parser will deliver, no more; a body over the per-request limit is refused by the
      // framework (413) before it is read, so it reserves nothing here.
      let reserved = declared <= limits.maxBodyBytes ? declared : 0;
      if (reserved > 0 && inflightBytes + reserved > limits.maxInflightBytes) return refuse(res);

      inflightRequests++;
      inflightBytes += reserved;
      let received = 0;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        inflightRequests--;
        inflightBytes -= reserved;
        observeBody(req, undefined);
      };
      // 'close' comes when the response is done or the connection is gone, whichever is first.
      res.once('close', release);
      if (chunked) {
        observeBody(req, (bytes) => {
          if (released) return;
          received += bytes;
          if (received <= reserved) return;
          const more = Math.min(received, limits.maxBodyBytes + 1) - reserved;
          if (more <= 0) return; // past the per-request limit: the framework is refusing it (413)
          if (inflightBytes + more <= limits.maxInflightBytes) {
            reserved += more;
            inflightBytes += more;
            return;
          }
          cutOff(req, res);
          release();
        });
      }
      handler(req, res);
    };
  }

  /** A chunked body outgrew the budget: fail its read with 503 and close the connection after the answer. */
  function cutOff(req: http.IncomingMessage, res: http.ServerResponse): void {
    refused++;
    res.shouldKeepAlive = false;
    if (!res.headersSent && req.listenerCount('error') > 0) {
      // The body reader (Fastify's) takes this as the end of the body and answers with the error's status.
      req.emit('error', new OverloadedError(retryAfter()));
    } else {
      req.socket.destroy();
    }
  }

  return {
    wrap,
    stats: () => ({ inflightRequests, inflightBytes, refused }),
  };
}

/**
 * Runs the work of requests with large bodies one (or a few) at a time, and only while no new connection is waiting.
 * Storage writes run synchronously on the event loop (SQLite, with an fsync per commit), so a 1 MiB write holds the
 * loop for tens of milliseconds; and Node (libuv) accepts one new connection per turn of the event loop. Under a
 * flood of large bodies, every turn carried a write, connections piled up in the kernel's accept queue faster than one
 * per turn drained them, and a health check's connection waited seconds behind them before it was even accepted.
 *
 * Through this gate, at most `concurrency` large requests are past their body at once (parsing included), and each
 * one starts only after a turn of the event loop in which no connection was accepted — the accept queue is empty then,
 * and health checks have been answered or refused requests turned away — or after `maxWaitMs`, so large requests
 * still progress under a steady stream of new connections. Bodies
 * waiting here stay in memory meanwhile, which the in-flight byte bound keeps bounded. Requests with small or no bodies
 * never wait here.
 */
export interface WorkGate {
  /**
   * Runs `work` when a slot is free. `onAbandon` registers a callback to call if the client goes away: a request still
   * waiting then leaves the queue at once (its body is let go) and run resolves null without running `work`.
   */
  run<T>(work: () => Promise<T>, onAbandon?: (abandon: () => void) => void): Promise<T | null>;
  readonly waiting: number;
}

/** Bodies at least this large go through the work gate. */
export const LARGE_BODY_BYTES = 64 * 1024;

export function createWorkGate(
  concurrency: number,
  options: { connectionsAccepted: () => number; maxWaitMs?: number },
): WorkGate {
  const maxWaitMs = options.maxWaitMs ?? 100;
  let active = 0;
  const queue: Array<() => void> = [];

  /** Resolves after a poll phase that accepted no connection (checked from one check phase to the next), or maxWaitMs. */
  const quietPoll = () =>
    new Promise<void>((resolve) => {
      const since = performance.now();
      let accepted = options.connectionsAccepted();
      const check = () => {
        const now = options.connectionsAccepted();
        if (now === accepted || performance.now() - since >= maxWaitMs) return resolve();
        accepted = now;
        setImmediate(check);
      };
      // The first check runs in this turn's check phase; the comparison then covers the next poll phase.
      setImmediate(() => {
        accepted = options.connectionsAccepted();
        setImmediate(check);
      });
    });

  return {
    async run(work, onAbandon) {
      if (active < concurrency) {
        active++;
      } else {
        const started = await new Promise<boolean>((resolve) => {
          const start = () => resolve(true);
          queue.push(start);
          onAbandon?.(() => {
            const at = queue.indexOf(start);
            if (at === -1) return; // already started (or finished): nothing to take back
            queue.splice(at, 1);
            resolve(false);
          });
        });
        if (!started) return null;
      }
      try {
        await quietPoll();
        return await work();
      } finally {
        // The slot passes straight to the next waiting request (which waits for its own quiet poll), or frees up.
        const next = queue.shift();
        if (next) next();
        else active--;
      }
    },
    get waiting() {
      return queue.length;
    },
  };
}
