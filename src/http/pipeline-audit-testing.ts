import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { StrongroomError } from '../shared/errors.js';
import type { ApiReply } from './pipeline.js';
import {
  createPipelineHarness,
  probeBackend,
  probeHandler,
  type PipelineHarness,
} from '../../test/support/pipeline-harness.js';

/**
 * Shared setup of the pipeline audit tests (pipeline-audit*.test.ts): a probe backend with handlers that record
 * when they run, so the tests can see the audit entries are durable before (mutations) or with (reads) them.
 */
export const SECRET = 's3cr3t-value-never-unaudited';

/** Lets pending promise chains run (the fake's writes and the pipeline's awaits), without timers. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}

/** Starts a request and reports whether it has answered yet. */
export function pending(reply: Promise<ApiReply>): { done: () => boolean; reply: Promise<ApiReply> } {
  let done = false;
  void reply.then(() => (done = true));
  return { done: () => done, reply };
}

export interface AuditPipeline {
  /** Set by the beforeAll hook this registers. */
  h: PipelineHarness;
  as: (method: string, path: string, body?: unknown) => Promise<ApiReply>;
  releasesNothing: (reply: ApiReply) => void;
}

/** Call inside a describe: it registers that block's hooks. */
export function useAuditPipeline(): AuditPipeline {
  const fx = {} as AuditPipeline;
  beforeAll(async () => {
    const timeline = () => fx.h.timeline;
    const secret = { data: { secret: SECRET }, headers: { 'x-probe': 'released' } };
    fx.h = await createPipelineHarness({
      extraBackends: [
        [
          'auth/probe/',
          probeBackend([
            {
              name: 'probe.thing',
              pattern: 'thing',
              existenceCheck: async () => true,
              operations: {
                read: (ctx) => probeHandler(timeline(), 'read', secret)(ctx),
                update: (ctx) => probeHandler(timeline(), 'update', secret)(ctx),
                create: (ctx) => probeHandler(timeline(), 'create', secret)(ctx),
                patch: (ctx) => probeHandler(timeline(), 'patch', secret)(ctx),
                delete: (ctx) => probeHandler(timeline(), 'delete')(ctx),
              },
            },
            {
              name: 'probe.new',
              pattern: 'new',
              existenceCheck: async () => false,
              operations: { create: (ctx) => probeHandler(timeline(), 'create', secret)(ctx) },
            },
            {
              // A write that stores nothing (transit encrypt/decrypt's shape): audited like a read.
              name: 'probe.compute',
              pattern: 'compute',
              changesNothing: ['update'],
              operations: { update: (ctx) => probeHandler(timeline(), 'compute', secret)(ctx) },
            },
            {
              name: 'probe.things',
              pattern: 'things/?',
              operations: { list: (ctx) => probeHandler(timeline(), 'list', { data: { keys: [SECRET] } })(ctx) },
            },
            {
              name: 'probe.fails',
              pattern: 'fails/(?<how>[a-z]+)',
              operations: {
                read: async (ctx) => {
                  fx.h.timeline.push('handler:fails:start');
                  if (ctx.params.how === 'notfound') throw new StrongroomError('not_found', 'no such thing');
                  throw new Error(`boom with ${SECRET}`);
                },
                update: async (ctx) => {
                  fx.h.timeline.push('handler:fails:start');
                  if (ctx.params.how === 'invalid') throw new StrongroomError('invalid', 'field "x" is required');
                  throw new Error(`boom with ${SECRET}`);
                },
              },
            },
            {
              name: 'probe.login',
              pattern: 'login',
              unauthenticated: true,
              operations: {
                update: async () => {
                  fx.h.timeline.push('handler:login:start');
                  return {
                    auth: { client_token: SECRET, accessor: 'acc-1', policies: ['default'] },
                    auditAuth: { display_name: 'probe-user' },
                  };
                },
              },
            },
            {
              name: 'probe.versioned',
              pattern: 'versioned',
              operations: { read: async () => ({ data: { value: SECRET, version: 3 }, auditClearData: ['version'] }) },
            },
            {
              name: 'probe.quiet',
              pattern: 'quiet',
              skipAudit: true,
              operations: { read: (ctx) => probeHandler(timeline(), 'quiet', secret)(ctx) },
            },
            {
              name: 'probe.lifecycle',
              pattern: 'lifecycle',
              auditIfAvailable: true,
              operations: {
                update: (ctx) => probeHandler(timeline(), 'lifecycle', { data: { done: true } })(ctx),
                read: (ctx) => probeHandler(timeline(), 'lifecycle', { data: { done: true } })(ctx),
              },
            },
          ]),
        ],
      ],
    });
  });
  afterAll(() => fx.h.close());
  beforeEach(() => {
    fx.h.reset();
    fx.h.auditUnavailable = false;
  });

  fx.as = (method: string, path: string, body?: unknown) =>
    fx.h.request(method, path, { token: fx.h.rootToken, ...(body !== undefined ? { body } : {}), requestId: 'rid-1' });

  /** Nothing the handler produced is in the reply: only Vault's error list, no data, no handler headers. */
  fx.releasesNothing = (reply: ApiReply) => {
    expect(JSON.stringify(reply)).not.toContain(SECRET);
    expect(Object.keys(reply.body as object)).toEqual(['errors']);
    expect(reply.headers?.['x-probe']).toBeUndefined();
  };
  return fx;
}
