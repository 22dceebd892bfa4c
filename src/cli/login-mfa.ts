import type { ApiResponse, Client, RequestOptions } from './client.js';
import { CliError, UsageError } from './errors.js';
import { promptHidden } from './input.js';

/**
 * Login MFA for `strongroom login`, whatever the method (Vault's login MFA,
 * https://developer.hashicorp.com/vault/docs/auth/login-mfa):
 *
 * - `--mfa <method name or ID>:<passcode>` sends the passcode with the login itself (X-Vault-MFA, single-phase), for
 *   scripts;
 * - otherwise a login answered with `auth.mfa_requirement` asks for each required method's passcode without echo, as
 *   Vault's CLI does ("Enter the passphrase for methodID … of type …:"), then completes it through sys/mfa/validate.
 *
 * It wraps the client the login code uses, so every method's login (its own file, `login-<method>.ts`) gets both
 * without knowing about MFA: requests under auth/ carry the header, and an answer with an MFA requirement is replaced
 * by the answer of sys/mfa/validate — the token.
 */
export interface LoginMfaOptions {
  /** The --mfa value(s): "<method>:<passcode>"; several separated by commas. */
  mfa?: string;
  /** Reads a passcode without echo; default: the terminal (refused when stdin is not one). */
  prompt?: (question: string) => Promise<string>;
  /** Where progress lines go (stderr by default, so stdout stays the login's output). */
  notice?: (line: string) => void;
}

const MFA_HEADER = 'X-Vault-MFA';

interface Requirement {
  mfa_request_id: string;
  mfa_constraints: Record<string, { any?: Array<{ type?: string; id?: string; uses_passcode?: boolean }> }>;
}

export function withLoginMfa(client: Client, options: LoginMfaOptions = {}): Client {
  const mfa = options.mfa === undefined ? undefined : checkMfaFlag(options.mfa);
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const prompt = options.prompt ?? defaultPrompt;

  async function request(method: Parameters<Client['request']>[0], path: string, more: RequestOptions = {}) {
    const headers = mfa && path.startsWith('auth/') ? { ...more.headers, [MFA_HEADER]: mfa } : more.headers;
    const response = await client.request(method, path, { ...more, ...(headers ? { headers } : {}) });
    const requirement = requirementOf(response);
    return requirement ? validate(requirement) : response;
  }

  async function validate(requirement: Requirement): Promise<ApiResponse> {
    const payload: Record<string, string[]> = {};
    const constraints = Object.values(requirement.mfa_constraints ?? {});
    if (constraints.length === 0) throw new CliError('the server asked for MFA but named no method');
    notice('Initiating Interactive MFA Validation...');
    for (const constraint of constraints) {
      const method = constraint.any?.[0];
      if (!method?.id) throw new CliError('the server asked for MFA but named no method');
      if (payload[method.id]) continue;
      if (method.uses_passcode === false) {
        notice('Asking the server to perform MFA validation with the upstream service.');
        payload[method.id] = [''];
        continue;
      }
      const passcode = await prompt(`Enter the passphrase for methodID "${method.id}" of type "${method.type}": `);
      if (passcode === '') throw new UsageError('no passcode given', 'the code your authenticator app shows');
      payload[method.id] = [passcode];
    }
    return client.request('POST', 'sys/mfa/validate', {
      body: { mfa_request_id: requirement.mfa_request_id, mfa_payload: payload },
      token: '',
    });
  }

  return {
    ...client,
    address: client.address,
    hasToken: client.hasToken,
    request,
    write: async (path, body) => (await request('POST', path, { body: body ?? {} })).body,
  };
}

/** Vault's CLI asks only on a terminal; a script passes --mfa instead. */
async function defaultPrompt(question: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new UsageError(
      'this login needs a second factor (MFA) and stdin is not a terminal',
      '--mfa=<method name or ID>:<passcode>',
    );
  return promptHidden(question);
}

function requirementOf(response: ApiResponse): Requirement | undefined {
  const requirement = (response.body as { auth?: { mfa_requirement?: unknown } } | undefined)?.auth?.mfa_requirement;
  if (requirement === null || typeof requirement !== 'object') return undefined;
  const r = requirement as Requirement;
  return typeof r.mfa_request_id === 'string' && r.mfa_request_id !== '' ? r : undefined;
}

function checkMfaFlag(value: string): string {
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => !/^[^:]+:.+$/.test(p)))
    throw new UsageError('--mfa takes <method name or ID>:<passcode>', '--mfa=corp-totp:123456');
  return parts.join(',');
}
