import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../../test/support/pipeline-harness.js';
import { createLoginService, type LoginService } from '../../auth/login.js';
import { loginReply } from '../../auth/token/views.js';
import type { IdentityResolver, IdentitySnapshot } from '../types.js';
import { createMfaGate } from './gate.js';
import { mfaPaths } from './routes.js';
import { createMfaService } from './service.js';
import { clearMfa, codeFrom, fakeDirectory } from './testing.js';
import type { MfaService } from './types.js';

const ENTITY = 'entity-alice';
const PREFIX = 'auth/idtest/';

/** One entity for every login: the identity store's part, done by hand until the real one is wired. */
const aliceIdentity: IdentityResolver = {
  resolveLogin: async () => snapshot(),
  snapshot: async (id) => (id === ENTITY ? snapshot() : undefined),
};
function snapshot(): IdentitySnapshot {
  return {
    entity: { id: ENTITY, name: 'alice', metadata: {}, aliases: [], disabled: false, policies: [] },
    groups: [],
  };
}

/**
 * The MFA paths as the identity mount will serve them (here under a test auth prefix), and a login path that completes
 * through the login service with a real MFA gate, so the whole flow — enforcement, mfa_requirement, sys/mfa/validate,
 * X-Vault-MFA — runs through the real pipeline, ACL and audit.
 */
describe('login MFA through the pipeline', () => {
  let h: PipelineHarness;
  let mfa: MfaService;
  let address = 0;

  beforeAll(async () => {
    const late: { mfa?: MfaService; logins?: LoginService } = {};
    const lazyMfa = new Proxy({} as MfaService, { get: (_t, key) => late.mfa![key as keyof MfaService] });
    h = await createPipelineHarness({
      extraBackends: [
        [
          PREFIX,
          {
            mountType: 'idtest',
            paths: [
              ...mfaPaths({ mfa: lazyMfa }),
              {
                pattern: 'login',
                unauthenticated: true,
                operations: {
                  update: async (ctx) =>
                    loginReply(
                      await late.logins!.complete({
                        mount: { accessor: 'auth_userpass_0a1b2c3d', path: 'userpass/', type: 'userpass' },
                        alias: { name: 'alice', metadata: {} },
                        token: {
                          authMethod: 'userpass',
                          path: 'auth/userpass/login/alice',
                          policies: ['payments-read'],
                          displayName: 'userpass-alice',
                        },
                        ...(ctx.mfaCredentials ? { mfaCredentials: ctx.mfaCredentials } : {}),
                      }),
                    ),
                },
              },
            ],
          },
        ],
      ],
    });
    const clock = () => h.clock.now;
    late.mfa = createMfaService({
      storage: h.storage,
      barrier: h.seal.barrier,
      directory: fakeDirectory({ entities: [ENTITY] }),
      clock,
    });
    late.logins = createLoginService({
      identity: aliceIdentity,
      mfa: createMfaGate({ storage: h.storage, barrier: h.seal.barrier, clock }),
      tokens: h.tokens,
    });
    mfa = late.mfa;
  });

  afterAll(async () => h.close());

  beforeEach(async () => {
    await clearMfa(mfa);
    h.reset();
    address += 1;
    // A new period each test, so a code used by one test is never the next test's.
    h.clock.advance(3600);
  });

  const root = (method: string, path: string, body?: unknown) =>
    h.request(method, `${PREFIX}${path}`, { token: h.rootToken, ...(body !== undefined ? { body } : {}) });
  const remote = () => `10.9.0.${address}`;
  const validate = (body: unknown) => h.request('POST', 'sys/mfa/validate', { body, remoteAddress: remote() });

  async function enrolled(): Promise<{ methodId: string; url: string }> {
    const created = await root('POST', 'mfa/method/totp', { issuer: 'Strongroom', method_name: 'corp-totp' });
    expect(created.status).toBe(200);
    const methodId = (created.body as { data: { method_id: string } }).data.method_id;
    const generated = await root('POST', 'mfa/method/totp/admin-generate', { method_id: methodId, entity_id: ENTITY });
    const url = (generated.body as { data: { url: string } }).data.url;
    const enforced = await root('POST', 'mfa/login-enforcement/people', {
      mfa_method_ids: [methodId],
      auth_method_types: 'userpass',
    });
    expect(enforced.status).toBe(204);
    return { methodId, url };
  }

  it('creates, reads, lists, updates and deletes TOTP methods with Vault’s shapes', async () => {
    const created = await root('POST', 'mfa/method/totp', { issuer: 'Strongroom', period: '1m', digits: '8' });
    const id = (created.body as { data: { method_id: string } }).data.method_id;
    const read = await root('GET', `mfa/method/totp/${id}`);
    expect((read.body as { data: unknown }).data).toEqual({
      id,
      name: '',
      type: 'totp',
      namespace_id: 'root',
      namespace_path: '',
      issuer: 'Strongroom',
      period: 60,
      key_size: 20,
      qr_size: 200,
      algorithm: 'SHA1',
      digits: 8,
      skew: 1,
      max_validation_attempts: 5,
    });
    for (const path of ['mfa/method/totp', 'mfa/method']) {
      const list = (await root('LIST', path)).body as { data: { keys: string[]; key_info: Record<string, unknown> } };
      expect(list.data.keys).toEqual([id]);
      expect(list.data.key_info[id]).toMatchObject({ type: 'totp', issuer: 'Strongroom' });
    }
    expect((await root('GET', `mfa/method/${id}`)).status).toBe(200);
    expect((await root('POST', `mfa/method/totp/${id}`, { issuer: 'Other' })).status).toBe(204);
    expect(((await root('GET', `mfa/method/totp/${id}`)).body as { data: { digits: number } }).data.digits).toBe(6);
    expect((await root('DELETE', `mfa/method/totp/${id}`)).status).toBe(204);
    expect((await root('GET', `mfa/method/totp/${id}`)).status).toBe(404);
    expect((await root('LIST', 'mfa/method')).status).toBe(404);
  });

  it('refuses bad fields with 400 and Vault’s errors', async () => {
    const cases: Array<[unknown, string]> = [
      [{ issuer: 'x', digits: 'eight' }, 'field "digits" must be an integer'],
      [{ issuer: 'x', digits: 7 }, 'digits can only be 6 or 8'],
      [{ issuer: 'x', period: 'soon' }, 'field "period" must be a duration such as "1h" or a number of seconds'],
      [{}, 'issuer must be set'],
    ];
    for (const [body, message] of cases) {
      const reply = await root('POST', 'mfa/method/totp', body);
      expect([reply.status, errorsOf(reply)]).toEqual([400, [message]]);
    }
    const enforcement = await root('POST', 'mfa/login-enforcement/people', { auth_method_types: ['userpass'] });
    expect([enforcement.status, errorsOf(enforcement)]).toEqual([400, ['missing method ids']]);
  });

  it('admin-generate returns the barcode and URL once; generate needs the caller’s entity', async () => {
    const created = await root('POST', 'mfa/method/totp', { issuer: 'Strongroom', method_name: 'corp-totp' });
    const methodId = (created.body as { data: { method_id: string } }).data.method_id;
    const first = await root('POST', 'mfa/method/totp/admin-generate', { method_id: methodId, entity_id: ENTITY });
    const data = (first.body as { data: { url: string; barcode: string } }).data;
    expect(data.url).toMatch(/^otpauth:\/\/totp\/Strongroom:entity-alice\?/);
    expect(Buffer.from(data.barcode, 'base64').subarray(1, 4).toString('ascii')).toBe('PNG');

    const again = await root('POST', 'mfa/method/totp/admin-generate', { method_id: methodId, entity_id: ENTITY });
    expect(again.body).toMatchObject({
      data: null,
      warnings: ['Entity already has a secret for MFA method "corp-totp"'],
    });

    const noEntity = await root('POST', 'mfa/method/totp/generate', { method_id: methodId });
    expect([noEntity.status, errorsOf(noEntity)]).toEqual([400, ['missing entityID']]);
    await h.policy.write('self-mfa', `path "${PREFIX}mfa/method/totp/generate" { capabilities = ["update"] }`);
    const own = await h.tokens.issue({
      authMethod: 'userpass',
      path: 'auth/userpass/login/alice',
      policies: ['self-mfa'],
      entityId: ENTITY,
    });
    const self = await h.request('POST', `${PREFIX}mfa/method/totp/generate`, {
      token: own.token,
      body: { method_id: methodId },
    });
    expect(self.body).toMatchObject({ warnings: ['Entity already has a secret for MFA method "corp-totp"'] });
    await root('POST', 'mfa/method/totp/admin-destroy', { method_id: methodId, entity_id: ENTITY });
    const regenerated = await h.request('POST', `${PREFIX}mfa/method/totp/generate`, {
      token: own.token,
      body: { method_id: methodId },
    });
    expect((regenerated.body as { data: { url: string } }).data.url).toMatch(/^otpauth:/);
  });

  it('login enforcements: write, read, list, delete', async () => {
    const { methodId } = await enrolled();
    const read = await root('GET', 'mfa/login-enforcement/people');
    expect((read.body as { data: unknown }).data).toMatchObject({
      name: 'people',
      mfa_method_ids: [methodId],
      auth_method_types: ['userpass'],
      auth_method_accessors: [],
      identity_group_ids: [],
      identity_entity_ids: [],
    });
    expect(((await root('LIST', 'mfa/login-enforcement')).body as { data: { keys: string[] } }).data.keys).toEqual([
      'people',
    ]);
    const inUse = await root('DELETE', `mfa/method/totp/${methodId}`);
    expect(inUse.status).toBe(400);
    expect((await root('DELETE', 'mfa/login-enforcement/people')).status).toBe(204);
    expect((await root('GET', 'mfa/login-enforcement/people')).status).toBe(404);
  });

  it('two-phase: the login answers mfa_requirement and no token; sys/mfa/validate returns it once', async () => {
    const { methodId, url } = await enrolled();
    const login = await h.request('POST', `${PREFIX}login`, { body: {} });
    expect(login.status).toBe(200);
    const body = login.body as { auth: Record<string, unknown>; warnings: string[] };
    expect(body.auth.client_token).toBe('');
    const requirement = body.auth.mfa_requirement as { mfa_request_id: string; mfa_constraints: unknown };
    expect(requirement.mfa_constraints).toEqual({
      people: { any: [{ type: 'totp', id: methodId, uses_passcode: true, name: 'corp-totp' }] },
    });
    expect(body.warnings[0]).toMatch(/subject to MFA validation/);

    const code = codeFrom(url, h.clock.now);
    const wrong = code === '000000' ? '111111' : '000000';
    const refused = await validate({
      mfa_request_id: requirement.mfa_request_id,
      mfa_payload: { [methodId]: [wrong] },
    });
    expect(refused.status).toBe(403);
    expect(errorsOf(refused)).toEqual([
      `failed to satisfy enforcement people. error: failed to validate TOTP passcode; login MFA validation failed for methodID: [${methodId}]`,
    ]);

    const ok = await validate({ mfa_request_id: requirement.mfa_request_id, mfa_payload: { [methodId]: [code] } });
    expect(ok.status).toBe(200);
    const auth = (ok.body as { auth: Record<string, unknown> }).auth;
    expect(auth).toMatchObject({
      entity_id: ENTITY,
      token_policies: ['default', 'payments-read'],
      mfa_requirement: null,
    });
    const info = await h.tokens.authenticate(auth.client_token as string);
    expect(info.entityId).toBe(ENTITY);

    const replay = await validate({ mfa_request_id: requirement.mfa_request_id, mfa_payload: { [methodId]: [code] } });
    expect([replay.status, errorsOf(replay)]).toEqual([400, ['invalid request ID']]);
  });

  it('sys/mfa/validate refuses malformed requests with 400', async () => {
    const cases: Array<[unknown, string]> = [
      [{ mfa_payload: {} }, 'missing request ID'],
      [{ mfa_request_id: 'x' }, 'missing mfa payload'],
      [{ mfa_request_id: 'x', mfa_payload: { m: '123456' } }, 'invalid mfa payload'],
      [{ mfa_request_id: 'x', mfa_payload: { m: [123456] } }, 'invalid mfa payload'],
      [{ mfa_request_id: 'x', mfa_payload: [] }, 'field "mfa_payload" must be a JSON object'],
      [{ mfa_request_id: 'nope', mfa_payload: {} }, 'invalid request ID'],
    ];
    for (const [body, message] of cases) {
      const reply = await validate(body);
      expect([reply.status, errorsOf(reply)]).toEqual([400, [message]]);
    }
  });

  it('single-phase: X-Vault-MFA on the login gives the token at once; a wrong code is permission denied', async () => {
    const { url } = await enrolled();
    const wrong = codeFrom(url, h.clock.now) === '000000' ? '111111' : '000000';
    const denied = await h.request('POST', `${PREFIX}login`, { body: {}, mfa: [`corp-totp:${wrong}`] });
    expect([denied.status, errorsOf(denied)]).toEqual([403, ['permission denied']]);
    const ok = await h.request('POST', `${PREFIX}login`, {
      body: {},
      mfa: [`corp-totp:${codeFrom(url, h.clock.now)}`],
    });
    expect(ok.status).toBe(200);
    expect((ok.body as { auth: { client_token: string } }).auth.client_token).toMatch(/^srs\./);
    expect((ok.body as { auth: { mfa_requirement: unknown } }).auth.mfa_requirement).toBeNull();
  });

  it('without an enforcement the login is a plain one', async () => {
    const reply = await h.request('POST', `${PREFIX}login`, { body: {} });
    expect((reply.body as { auth: { client_token: string } }).auth.client_token).not.toBe('');
  });
});

describe('sys/mfa/validate rate limit', () => {
  it('is limited per address like a login', async () => {
    const h = await createPipelineHarness({ loginRateLimit: { perSecond: 0.001, burst: 2 } });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push(
          (await h.request('POST', 'sys/mfa/validate', { body: { mfa_request_id: 'x', mfa_payload: {} } })).status,
        );
      expect(statuses).toEqual([400, 400, 429]);
    } finally {
      await h.close();
    }
  });
});
