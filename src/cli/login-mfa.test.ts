import { describe, expect, it } from 'vitest';
import type { ApiResponse, Client, RequestOptions } from './client.js';
import { UsageError } from './errors.js';
import { withLoginMfa } from './login-mfa.js';

type Sent = { method: string; path: string; options: RequestOptions };

/** A client double that records requests and answers from a script keyed by path. */
function fakeClient(answers: Record<string, ApiResponse>): Client & { sent: Sent[] } {
  const sent: Sent[] = [];
  const request: Client['request'] = async (method, path, options = {}) => {
    sent.push({ method, path, options });
    const answer = answers[path];
    if (!answer) throw new Error(`unexpected request to ${path}`);
    return answer;
  };
  return {
    sent,
    address: 'http://127.0.0.1:8200',
    hasToken: false,
    request,
    read: async () => undefined,
    write: async (path, body) => (await request('POST', path, { body })).body,
    list: async () => [],
    delete: async () => undefined,
    unwrap: async () => undefined,
  };
}

const TOKEN_ANSWER: ApiResponse = { status: 200, body: { auth: { client_token: 'srs.token', mfa_requirement: null } } };
const METHOD = '2f6b1f0e-8a3c-4c7e-9a51-1f0d6a1b7c11';
const REQUIREMENT: ApiResponse = {
  status: 200,
  body: {
    auth: {
      client_token: '',
      mfa_requirement: {
        mfa_request_id: 'req-1',
        mfa_constraints: { people: { any: [{ type: 'totp', id: METHOD, uses_passcode: true, name: 'corp-totp' }] } },
      },
    },
  },
};

describe('login MFA in the CLI', () => {
  it('sends --mfa as X-Vault-MFA with logins only, and passes a plain answer through', async () => {
    const client = fakeClient({ 'auth/approle/login': TOKEN_ANSWER, 'sys/health': { status: 200, body: {} } });
    const wrapped = withLoginMfa(client, { mfa: 'corp-totp:123456' });
    expect(await wrapped.request('POST', 'auth/approle/login', { body: { role_id: 'r' }, token: '' })).toBe(
      TOKEN_ANSWER,
    );
    await wrapped.request('GET', 'sys/health');
    expect(client.sent.map((s) => s.options.headers)).toEqual([{ 'X-Vault-MFA': 'corp-totp:123456' }, undefined]);
  });

  it('asks for the passcode as Vault’s CLI does and completes the login through sys/mfa/validate', async () => {
    const client = fakeClient({ 'auth/userpass/login/alice': REQUIREMENT, 'sys/mfa/validate': TOKEN_ANSWER });
    const questions: string[] = [];
    const notices: string[] = [];
    const wrapped = withLoginMfa(client, {
      prompt: async (q) => (questions.push(q), '654321'),
      notice: (line) => notices.push(line),
    });
    const body = await wrapped.write('auth/userpass/login/alice', { password: 'p' });
    expect(body).toBe(TOKEN_ANSWER.body);
    expect(questions).toEqual([`Enter the passphrase for methodID "${METHOD}" of type "totp": `]);
    expect(notices).toEqual(['Initiating Interactive MFA Validation...']);
    expect(client.sent[1]).toEqual({
      method: 'POST',
      path: 'sys/mfa/validate',
      options: { body: { mfa_request_id: 'req-1', mfa_payload: { [METHOD]: ['654321'] } }, token: '' },
    });
  });

  it('refuses a malformed --mfa and an empty passcode', async () => {
    expect(() => withLoginMfa(fakeClient({}), { mfa: '123456' })).toThrow(UsageError);
    expect(() => withLoginMfa(fakeClient({}), { mfa: 'totp:' })).toThrow(UsageError);
    const wrapped = withLoginMfa(fakeClient({ 'auth/userpass/login/alice': REQUIREMENT }), {
      prompt: async () => '',
      notice: () => undefined,
    });
    await expect(wrapped.request('POST', 'auth/userpass/login/alice')).rejects.toThrow('no passcode given');
  });
});
