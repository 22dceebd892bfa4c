import type { Client } from './client.js';
import { UsageError } from './errors.js';
import { parseKeyValues, promptHidden } from './input.js';

/** Vault's userpass usernames (what auth/<mount>/login/<username> routes). */
const USERNAME = /^\w(?:[\w.-]{0,126}\w)?$/;

/**
 * `strongroom login --method=userpass username=alice [password=@file | password=-]`, as `vault login -method=userpass`:
 * without a password argument it is asked for on the terminal without echo (or read from stdin when stdin is not a
 * terminal). The password goes only into the request body, never into an argument list, a log or an error.
 *
 * Returns the server's raw login response, so a second step (login MFA's mfa_requirement) can follow it.
 */
export async function userpassLogin(
  client: Pick<Client, 'request'>,
  args: string[],
  mount: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<any> {
  const params = await parseKeyValues(args, { noun: 'login parameter' });
  const username = params.username;
  if (!username) throw new UsageError('userpass login needs username=…', 'username=NAME (the password is asked for)');
  if (!USERNAME.test(username))
    throw new UsageError('the username may hold letters, digits, "_", "." and "-" only', 'username=NAME');
  for (const key of Object.keys(params)) {
    if (key !== 'username' && key !== 'password')
      throw new UsageError(`unknown login parameter "${key}" for userpass`, 'username=NAME [password=@FILE|-]');
  }
  const password = params.password ?? (await promptHidden('Password (will be hidden): '));
  if (!password) throw new UsageError('no password given', 'password=@FILE, password=- (stdin), or type it when asked');
  const res = await client.request('POST', `auth/${mount}/login/${encodeURIComponent(username)}`, {
    body: { password },
    token: '',
  });
  return res.body;
}
