import { describe, expect, it } from 'vitest';
import { ApiError, ConnectionError, TimeoutError, TlsError } from '../client/errors.js';
import { cliError } from './client.js';
import { clientTimeout, DEFAULT_TIMEOUT_SECONDS } from './connection.js';
import { CliError, UsageError } from './errors.js';

describe('client timeout (STRONGROOM_CLIENT_TIMEOUT, VAULT_CLIENT_TIMEOUT)', () => {
  it("defaults to Vault's 60 s and reads Vault's duration syntax, STRONGROOM_ first", () => {
    expect(clientTimeout({})).toEqual({ timeoutSeconds: DEFAULT_TIMEOUT_SECONDS });
    expect(DEFAULT_TIMEOUT_SECONDS).toBe(60);
    expect(clientTimeout({ VAULT_CLIENT_TIMEOUT: '2m' })).toEqual({
      timeoutSeconds: 120,
      timeoutSource: 'VAULT_CLIENT_TIMEOUT',
    });
    expect(clientTimeout({ VAULT_CLIENT_TIMEOUT: '2m', STRONGROOM_CLIENT_TIMEOUT: '1h30m' }).timeoutSeconds).toBe(5400);
    expect(clientTimeout({ STRONGROOM_CLIENT_TIMEOUT: '90' }).timeoutSeconds).toBe(90);
  });

  it('refuses a value that is not a positive duration as a usage error naming the variable', () => {
    for (const value of ['soon', '0', '-5s', '500ms']) {
      expect(() => clientTimeout({ STRONGROOM_CLIENT_TIMEOUT: value })).toThrow(UsageError);
      expect(() => clientTimeout({ STRONGROOM_CLIENT_TIMEOUT: value })).toThrow(/STRONGROOM_CLIENT_TIMEOUT/);
    }
  });
});

describe('connection failures as one line with what to do', () => {
  const https = { address: 'https://vault.example:8200' };
  const http = { address: 'http://vault.example:8200' };

  it('a 403 without any token is "not logged in"; with a token, or a token of its own, it stays a 403', () => {
    const forbidden = new ApiError(403, ['permission denied'], 'GET', 'sys/internal/ui/mounts/secret', {});
    const line = cliError(forbidden, http, true) as CliError;
    expect(line).toBeInstanceOf(CliError);
    expect(line.message).toBe('not logged in: no token is set');
    expect(line.hint).toMatch(/strongroom login/);
    expect(cliError(forbidden, http, false)).toBe(forbidden);
  });

  it('an https:// address answered in plain HTTP: not speaking TLS, try http://', () => {
    const err = new TlsError(https.address, 'ERR_SSL_WRONG_VERSION_NUMBER', 'ssl3_get_record:wrong version number');
    const line = cliError(err, https) as CliError;
    expect(line.message).toMatch(/is not speaking TLS/);
    expect(line.hint).toMatch(/^--address=http:\/\/vault\.example:8200 /);
    // A certificate problem is another cause, with its own line.
    const cert = cliError(new TlsError(https.address, 'DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed'), https);
    expect((cert as CliError).message).toMatch(/TLS verification .* failed/);
  });

  it('an http:// connection dropped without an answer may be a TLS server; the timeout names its variable', () => {
    const reset = new ConnectionError(http.address, 'ECONNRESET', 'socket hang up');
    expect((cliError(reset, http) as CliError).hint).toMatch(/^--address=https:/);
    const timeout = cliError(new TimeoutError(http.address, 'response', 5000), {
      ...http,
      timeoutSource: 'VAULT_CLIENT_TIMEOUT',
    }) as CliError;
    expect(timeout.message).toMatch(/no answer within 5 s/);
    expect(timeout.hint).toMatch(/VAULT_CLIENT_TIMEOUT=2m/);
  });
});
