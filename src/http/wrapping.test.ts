import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/types.js';
import type { TokenInfo } from '../auth/types.js';
import type { Backend, HandlerResult, WrapInfo } from '../logical/backend.js';
import { isStrongroomError } from '../shared/errors.js';
import type { WrappingService } from '../wrapping/types.js';
import type { HttpDeps } from './deps.js';
import { compileRoutes, createPipeline, type ApiRequest } from './pipeline.js';
import { parseWrapRequest } from './wrapping.js';

const SECRET = 'hunter2-plaintext-marker';

describe('parseWrapRequest (X-Vault-Wrap-TTL, X-Vault-Wrap-Format)', () => {
  it('takes seconds and Go durations; no header or 0 means no wrapping', () => {
    expect(parseWrapRequest(undefined, undefined)).toBeUndefined();
    expect(parseWrapRequest('', undefined)).toBeUndefined();
    expect(parseWrapRequest('0', undefined)).toBeUndefined();
    expect(parseWrapRequest('60', undefined)).toEqual({ ttl: 60 });
    expect(parseWrapRequest('5m', 'json')).toEqual({ ttl: 300 });
    expect(parseWrapRequest('1h30m', '')).toEqual({ ttl: 5400 });
  });

  it('accepts every whole number of seconds as that many seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), (n) => {
        expect(parseWrapRequest(String(n), undefined)).toEqual({ ttl: n });
        expect(parseWrapRequest(`${n}s`, undefined)).toEqual({ ttl: n });
      }),
    );
  });

  it('refuses anything else with a 400 that does not repeat the header', () => {
    fc.assert(
      fc.property(
        fc
          .string()
          .filter((s) => s.trim() !== '' && !/^\s*(\d+|\d+d|(\d*(\.\d*)?(ns|us|µs|μs|ms|s|m|h))+)\s*$/.test(s)),
        (text) => {
          let error: unknown;
          try {
            parseWrapRequest(text, undefined);
          } catch (err) {
            error = err;
          }
          expect(isStrongroomError(error, 'invalid')).toBe(true);
          if (text.length > 3) expect((error as Error).message).not.toContain(text);
        },
      ),
    );
    for (const bad of ['-5', 'soon', '1y', '5 m'])
      expect(() => parseWrapRequest(bad, undefined)).toThrow(/X-Vault-Wrap-TTL/);
    expect(() => parseWrapRequest('60', 'jwt')).toThrow(/jwt/);
    expect(() => parseWrapRequest('60', 'xml')).toThrow(/X-Vault-Wrap-Format/);
  });
});

/** The pipeline's wrapping step, in process: real routing, ACL and audit ordering; wrapping and audit recorded. */
describe('pipeline: response wrapping', () => {
  const info = {
    accessor: 'caller-acc',
    policies: ['root'],
    numUses: 0,
    meta: {},
    displayName: 'root',
    authMethod: 'token',
  } as unknown as TokenInfo;

  function setup(options: { wrap?: WrappingService['wrap'] } = {}) {
    const handled: string[] = [];
    const wrapped: Array<Parameters<WrappingService['wrap']>[0]> = [];
    const events: AuditEvent[] = [];
    const answer = (result: HandlerResult | void) => async () => {
      handled.push('x');
      return result;
    };
    const backend: Backend = {
      mountType: 'test',
      paths: [
        { pattern: 'secret', operations: { read: answer({ data: { password: SECRET } }) } },
        {
          pattern: 'login',
          operations: { update: answer({ auth: { client_token: SECRET, accessor: 'issued-acc', policies: ['a'] } }) },
        },
        { pattern: 'nothing', operations: { update: answer(undefined) } },
        { pattern: 'verbatim', operations: { read: answer({ raw: { keys: [SECRET] } }) } },
        {
          pattern: 'health',
          skipAudit: true,
          allowSealed: true,
          operations: { read: answer({ raw: { initialized: true } }) },
        },
        {
          pattern: 'init',
          allowSealed: true,
          unauthenticated: true,
          operations: { update: answer({ raw: { keys: [SECRET], root_token: SECRET } }) },
        },
        { pattern: 'missing', operations: { read: answer({ status: 404, raw: { errors: [] } }) } },
      ],
    };
    const record = async (event: AuditEvent) => void events.push(structuredClone(event));
    const deps = {
      seal: { barrier: { isSealed: () => false } },
      tokens: { authenticate: async () => info },
      policy: { acl: async () => ({ isRoot: true }) },
      access: { acl: async () => ({ isRoot: true }) },
      audit: () => ({ log: record, logAll: async (all: AuditEvent[]) => void (await Promise.all(all.map(record))) }),
      // One auth mount at auth/test/, served by `backend`.
      authMounts: {
        resolve: async (path: string) =>
          path.startsWith('test/') ? { mount: { path: 'test/', type: 'test', uuid: 'u1' }, rest: path.slice(5) } : null,
      },
      wrapping: {
        wrap:
          options.wrap ??
          (async (input: Parameters<WrappingService['wrap']>[0]): Promise<WrapInfo> => {
            wrapped.push(input);
            return {
              token: 'srs.wrapping-token',
              accessor: 'wrap-acc',
              ttl: input.ttl,
              creationTime: 1_700_000_000_000,
              creationPath: input.creationPath,
              ...(input.wrappedAccessor ? { wrappedAccessor: input.wrappedAccessor } : {}),
            };
          }),
      },
    } as unknown as HttpDeps;
    const pipeline = createPipeline(
      deps,
      compileRoutes({ sys: { paths: [] }, modules: { routesFor: () => ({ key: 'test', build: () => backend }) } }),
    );
    const request = (method: string, path: string, wrapTtl?: string): ApiRequest => ({
      method,
      path: `auth/test/${path}`,
      query: {},
      body: undefined,
      token: 'srs.caller',
      remoteAddress: '127.0.0.1',
      requestId: 'req-1',
      ...(wrapTtl !== undefined ? { wrapTtl } : {}),
    });
    return { pipeline, request, handled, wrapped, events };
  }

  it('answers with wrap_info and null data, stores the full envelope, and audits wrap_info instead of the data', async () => {
    const { pipeline, request, wrapped, events } = setup();
    const reply = await pipeline.handle(request('GET', 'secret', '2m'));
    expect(reply.status).toBe(200);
    const body = reply.body as Record<string, unknown>;
    expect(body.data).toBeNull();
    expect(body.wrap_info).toEqual({
      token: 'srs.wrapping-token',
      accessor: 'wrap-acc',
      ttl: 120,
      creation_time: '2023-11-14T22:13:20.000Z',
      creation_path: 'auth/test/secret',
    });
    expect(JSON.stringify(body)).not.toContain(SECRET);
    expect(wrapped).toHaveLength(1);
    expect(wrapped[0]!.response).toMatchObject({
      request_id: 'req-1',
      data: { password: SECRET },
      wrap_info: null,
      mount_type: 'test',
    });
    const response = events.find((e) => e.type === 'response')!;
    expect(response.response?.wrap_info).toMatchObject({
      token: 'srs.wrapping-token',
      creation_path: 'auth/test/secret',
      ttl: 120,
    });
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it('names the accessor of a wrapped token', async () => {
    const { pipeline, request, events } = setup();
    const reply = await pipeline.handle(request('POST', 'login', '60'));
    expect((reply.body as { wrap_info: Record<string, unknown>; auth: unknown }).wrap_info.wrapped_accessor).toBe(
      'issued-acc',
    );
    expect((reply.body as { auth: unknown }).auth).toBeNull();
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it('refuses a malformed TTL with 400 before any handler runs', async () => {
    const { pipeline, request, handled } = setup();
    const reply = await pipeline.handle(request('GET', 'secret', 'tomorrow'));
    expect(reply.status).toBe(400);
    expect(handled).toEqual([]);
  });

  it('fails with an error, and never the plaintext, when the response cannot be stored', async () => {
    const { pipeline, request, events } = setup({
      wrap: async () => Promise.reject(new Error(`database gone while storing ${SECRET}`)),
    });
    const reply = await pipeline.handle(request('GET', 'secret', '2m'));
    expect(reply.status).toBe(500);
    expect(JSON.stringify(reply.body)).not.toContain(SECRET);
    expect(events.find((e) => e.type === 'response')?.error).toBe('internal error');
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it('passes through what Vault does not wrap, and refuses a verbatim body it cannot wrap', async () => {
    const { pipeline, request, wrapped } = setup();
    expect((await pipeline.handle(request('POST', 'nothing', '60'))).status).toBe(204);
    expect((await pipeline.handle(request('GET', 'health', '60'))).body).toEqual({ initialized: true });
    expect((await pipeline.handle(request('GET', 'missing', '60'))).status).toBe(404);
    const refused = await pipeline.handle(request('GET', 'verbatim', '60'));
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).not.toContain(SECRET);
    expect(wrapped).toEqual([]);
  });

  it('refuses a wrap request on a seal-lifecycle path before its handler runs (sys/init must not lose its keys)', async () => {
    const { pipeline, request, handled, wrapped } = setup();
    const refused = await pipeline.handle(request('POST', 'init', '60'));
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ errors: ['this response cannot be wrapped'] });
    expect(handled).toEqual([]);
    expect(wrapped).toEqual([]);
  });

  it('leaves responses alone when no wrapping is asked for', async () => {
    const { pipeline, request, wrapped } = setup();
    const reply = await pipeline.handle(request('GET', 'secret'));
    expect((reply.body as { data: unknown; wrap_info: unknown }).data).toEqual({ password: SECRET });
    expect((reply.body as { wrap_info: unknown }).wrap_info).toBeNull();
    expect(wrapped).toEqual([]);
  });
});
