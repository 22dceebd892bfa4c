import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StrongroomError, type ErrorKind } from '../shared/errors.js';
import type { HandlerResult, RequestContext } from '../logical/backend.js';
import {
  createPipelineHarness,
  errorsOf,
  probeBackend,
  type PipelineHarness,
} from '../../test/support/pipeline-harness.js';

/**
 * What the pipeline puts on the wire (before the transport serializes it): Vault's envelope, the empty-LIST rule,
 * the sealed and unknown-route answers, method handling, sys endpoints' top-level data, warnings and raw replies.
 */
describe('pipeline: envelope and wire', () => {
  let h: PipelineHarness;
  let result: HandlerResult | void;
  let thrown: unknown;
  const seen: RequestContext[] = [];
  const handler = async (ctx: RequestContext) => {
    seen.push(ctx);
    if (thrown) throw thrown;
    return result;
  };

  beforeAll(async () => {
    h = await createPipelineHarness({
      extraBackends: [
        [
          'auth/probe/',
          probeBackend([
            {
              name: 'probe.any',
              pattern: 'any',
              operations: { read: handler, update: handler, delete: handler, list: handler, patch: handler },
            },
            { name: 'probe.readonly', pattern: 'readonly', operations: { read: handler } },
          ]),
        ],
      ],
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.reset();
    result = undefined;
    thrown = undefined;
    seen.length = 0;
  });

  const root = (method: string, path: string, extra: { body?: unknown; query?: Record<string, string> } = {}) =>
    h.request(method, path, { token: h.rootToken, requestId: 'rid-w', ...extra });

  describe('envelope', () => {
    it("wraps data in Vault's envelope", async () => {
      result = { data: { a: 1 }, leaseDuration: 60 };
      const reply = await root('GET', 'auth/probe/any');
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        request_id: 'rid-w',
        lease_id: '',
        renewable: false,
        lease_duration: 60,
        data: { a: 1 },
        wrap_info: null,
        warnings: null,
        auth: null,
        mount_type: 'probe',
      });
      expect(reply.route).toBe('probe.any.read');
    });

    it('answers 204 with no body when the handler returns nothing', async () => {
      const reply = await root('DELETE', 'auth/probe/any');
      expect(reply).toMatchObject({ status: 204, body: undefined, route: 'probe.any.delete' });
    });

    it('carries an auth block, with data null', async () => {
      result = { auth: { client_token: 't', policies: ['default'] } };
      const reply = await root('PUT', 'auth/probe/any', { body: {} });
      expect(reply.body).toMatchObject({ auth: { client_token: 't' }, data: null });
    });

    it('sends warnings even without data, and none as null', async () => {
      result = { warnings: ['deprecated field "x"'] };
      const warned = await root('PUT', 'auth/probe/any', { body: {} });
      expect(warned.status).toBe(200);
      expect(warned.body).toMatchObject({ data: null, warnings: ['deprecated field "x"'] });
      result = { warnings: [] };
      expect((await root('PUT', 'auth/probe/any', { body: {} })).status).toBe(204);
      result = { data: { a: 1 }, warnings: [] };
      expect((await root('GET', 'auth/probe/any')).body).toMatchObject({ warnings: null });
    });

    it('keeps a handler-chosen status and headers', async () => {
      result = { data: { a: 1 }, status: 202, headers: { 'x-extra': 'yes' } };
      const reply = await root('PUT', 'auth/probe/any', { body: {} });
      expect(reply).toMatchObject({ status: 202, headers: { 'x-extra': 'yes' } });
    });

    it('sends a raw body verbatim, with its content type', async () => {
      result = { raw: 'metric 1\n', contentType: 'text/plain; version=0.0.4', status: 200 };
      const reply = await root('GET', 'auth/probe/any');
      expect(reply).toMatchObject({ status: 200, body: 'metric 1\n', contentType: 'text/plain; version=0.0.4' });
    });

    it("serves Vault's raw sys bodies without the envelope", async () => {
      const status = await h.request('GET', 'sys/seal-status');
      expect(status.body).not.toHaveProperty('request_id');
      expect(status.body).toMatchObject({ type: expect.any(String), sealed: false, initialized: true });
      const metrics = await root('GET', 'sys/metrics', { query: { format: 'prometheus' } });
      expect(typeof metrics.body).toBe('string');
      expect(metrics.contentType).toMatch(/^text\/plain/);
    });

    it('repeats sys data at the top level, and only for sys', async () => {
      const mounts = await root('GET', 'sys/mounts');
      const body = mounts.body as Record<string, unknown> & { data: Record<string, unknown> };
      expect(body.data['secret/']).toMatchObject({ type: 'kv' });
      expect(body['secret/']).toEqual(body.data['secret/']);
      expect(body.mount_type).toBe('system');
      result = { data: { a: 1 } };
      expect((await root('GET', 'auth/probe/any')).body).not.toHaveProperty('a');
    });

    it('lets the envelope win over a sys data key of the same name', async () => {
      const reply = await root('PUT', 'sys/capabilities-self', { body: { paths: ['request_id'] } });
      expect(reply.body).toMatchObject({ request_id: 'rid-w', data: { request_id: ['root'] } });
    });
  });

  describe('request data', () => {
    it('gives reads and lists the query, writes the body, and a bodiless DELETE the query', async () => {
      await root('GET', 'auth/probe/any', { query: { version: '2' } });
      await root('PUT', 'auth/probe/any', { body: { a: 1 }, query: { ignored: '1' } });
      await root('DELETE', 'auth/probe/any', { query: { versions: '1,2' } });
      expect(seen.map((ctx) => [ctx.operation, ctx.data])).toEqual([
        ['read', { version: '2' }],
        ['update', { a: 1 }],
        ['delete', { versions: '1,2' }],
      ]);
    });

    it('maps HEAD to read and GET ?list=true to list', async () => {
      result = { data: { keys: ['a'] } };
      await root('HEAD', 'auth/probe/any');
      await root('GET', 'auth/probe/any', { query: { list: 'true' } });
      await root('LIST', 'auth/probe/any');
      expect(seen.map((ctx) => ctx.operation)).toEqual(['read', 'list', 'list']);
    });

    it('refuses a body that is not a JSON object with 400, before the handler', async () => {
      for (const body of [[1, 2], 'text', 42, true]) {
        const reply = await root('PUT', 'auth/probe/any', { body });
        expect(reply, JSON.stringify(body)).toMatchObject({
          status: 400,
          body: { errors: ['the request body must be a JSON object'] },
        });
      }
      expect(seen).toEqual([]);
    });

    it('treats an empty body as no data', async () => {
      await root('PUT', 'auth/probe/any', { body: '' });
      await root('PUT', 'auth/probe/any', { body: null });
      expect(seen.map((ctx) => ctx.data)).toEqual([{}, {}]);
    });
  });

  describe('empty LIST', () => {
    it("answers a listing with no keys 404 {errors: []}, as Vault's HTTP layer does", async () => {
      for (const empty of [
        { data: { keys: [] } },
        { data: {} },
        { data: null },
        undefined,
        { data: { keys: null } },
      ] as Array<HandlerResult | undefined>) {
        result = empty;
        const reply = await root('LIST', 'auth/probe/any');
        expect(reply, JSON.stringify(empty)).toMatchObject({ status: 404, body: { errors: [] } });
      }
    });

    it('serves a listing with keys, or with other content', async () => {
      result = { data: { keys: ['a/', 'b'] } };
      expect((await root('LIST', 'auth/probe/any')).body).toMatchObject({ data: { keys: ['a/', 'b'] } });
      result = { data: { keys: [], key_info: {} } };
      expect((await root('LIST', 'auth/probe/any')).status).toBe(404);
      result = { data: { key_info: { a: 1 } } };
      expect((await root('LIST', 'auth/probe/any')).status).toBe(200);
      result = { data: { keys: [] }, warnings: ['w'] };
      expect((await root('LIST', 'auth/probe/any')).status).toBe(404);
    });

    it('applies to a read that is not a listing never', async () => {
      result = { data: { keys: [] } };
      expect((await root('GET', 'auth/probe/any')).status).toBe(200);
    });

    it('answers a read that found nothing 404 {errors: []}, and a write that answers nothing 204', async () => {
      result = undefined;
      expect(await root('GET', 'auth/probe/any')).toMatchObject({ status: 404, body: { errors: [] } });
      expect((await root('PUT', 'auth/probe/any', { body: {} })).status).toBe(204);
    });

    it('applies to the real engines: an empty KV folder and an unknown one', async () => {
      const empty = await root('LIST', 'secret/metadata/nothing-here');
      expect(empty).toMatchObject({ status: 404, body: { errors: [] } });
      const mount = (await h.mounts.resolve('secret/data/x'))!.mount;
      await h.kv.write(mount, 'dir/one', { a: '1' });
      expect((await root('LIST', 'secret/metadata/dir')).body).toMatchObject({ data: { keys: ['one'] } });
    });

    it('audits the 404 the client got', async () => {
      result = { data: { keys: [] } };
      await root('LIST', 'auth/probe/any');
      expect(h.audit.entries[1]!.response).toMatchObject({ status: 404 });
    });
  });

  describe('errors', () => {
    it('answers an unknown route 404 with Vault’s words, whether unmounted, sys or auth', async () => {
      for (const path of ['nomount/x', 'sys/nonsense', 'auth/probe/nope', 'secret/unknown-endpoint/x']) {
        const reply = await root('GET', path);
        expect(reply, path).toMatchObject({
          status: 404,
          body: { errors: [`no handler for route "${path}"; route entry not found`] },
        });
      }
    });

    it('answers an unknown route the same with or without a token', async () => {
      const anonymous = await h.request('GET', 'nomount/x');
      expect(anonymous.status).toBe(404);
      expect(anonymous.route).toBe('unmatched');
    });

    it('answers a method Vault does not use with 405', async () => {
      for (const method of ['OPTIONS', 'TRACE', 'CONNECT', 'get']) {
        const reply = await root(method, 'auth/probe/any');
        expect(reply, method).toMatchObject({ status: 405, body: { errors: [`method ${method} is not supported`] } });
      }
      expect(seen).toEqual([]);
    });

    it('answers an operation the path does not serve with 405', async () => {
      const reply = await root('DELETE', 'auth/probe/readonly');
      expect(reply).toMatchObject({ status: 405, body: { errors: ['unsupported operation delete on this path'] } });
    });

    it('maps every error kind a handler throws to its status, and hides internal ones', async () => {
      const expected: Record<ErrorKind, number> = {
        invalid: 400,
        unauthenticated: 403,
        forbidden: 403,
        not_found: 404,
        method_not_allowed: 405,
        conflict: 409,
        precondition: 412,
        rate_limited: 429,
        sealed: 503,
        unavailable: 503,
        internal: 500,
      };
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...(Object.keys(expected) as ErrorKind[])),
          fc.string({ minLength: 1, maxLength: 30 }),
          async (kind, message) => {
            thrown = new StrongroomError(kind, message);
            const reply = await root('GET', 'auth/probe/any');
            expect(reply.status).toBe(expected[kind]);
            const wire =
              kind === 'internal'
                ? 'internal error; request id rid-w'
                : kind === 'sealed'
                  ? 'Vault is sealed'
                  : message;
            expect(errorsOf(reply)).toEqual([wire]);
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});

describe('pipeline: sealed', () => {
  let h: PipelineHarness;
  let token: string;
  beforeAll(async () => {
    h = await createPipelineHarness();
    token = h.rootToken;
    await h.seal.seal();
  });
  afterAll(() => h.close());

  it('answers 503 "Vault is sealed" for mounted, sys and auth paths, before looking at the token', async () => {
    for (const [method, path] of [
      ['GET', 'secret/data/app'],
      ['LIST', 'secret/metadata/'],
      ['GET', 'sys/mounts'],
      ['POST', 'auth/token/create'],
      ['GET', 'nomount/at-all'],
    ] as const) {
      for (const t of [token, undefined, 'srs.bogus']) {
        const reply = await h.request(method, path, { token: t, body: method === 'POST' ? {} : undefined });
        expect(reply, `${method} ${path}`).toMatchObject({ status: 503, body: { errors: ['Vault is sealed'] } });
      }
    }
  });

  it('serves the seal lifecycle endpoints while sealed', async () => {
    expect((await h.request('GET', 'sys/seal-status')).body).toMatchObject({ sealed: true, initialized: true });
    expect((await h.request('GET', 'sys/init')).body).toEqual({ initialized: true });
    expect((await h.request('GET', 'sys/health')).status).toBe(503);
  });

  it('writes no audit entry while sealed (there is no audit log to write to)', async () => {
    await h.request('GET', 'sys/seal-status');
    await h.request('GET', 'secret/data/app', { token });
    expect(h.audit.entries).toEqual([]);
  });
});
