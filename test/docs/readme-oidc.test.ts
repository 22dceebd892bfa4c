import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, oidcLoginAsBrowser } from '../integration/cli/oidc-browser.js';
import { BIN, ROOT } from '../integration/cli/run.js';
import { startOidcProvider, type OidcProviderDouble } from '../support/oidc-provider.js';
import { startServer, type StartedServer } from '../support/server-process.js';

/**
 * The README's "People: single sign-on with OIDC" walkthrough, executed: its commands run in order against a real
 * server, with the OIDC provider double standing in for `https://idp.example.com`. The administrator's commands
 * run in one bash session with a root token, the person's login is driven as a browser would, and the person's
 * commands run with the token the login saved.
 */
const IDP = 'https://idp.example.com';
const STRIPE_KEY = 'sk_test_4f1c0';

export function oidcWalkthrough(readme: string): string[] {
  const start = readme.indexOf('<!-- oidc:start -->');
  const end = readme.indexOf('<!-- oidc:end -->');
  if (start < 0 || end < start) throw new Error('README.md has no oidc markers');
  return [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((block) => block[1]!.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function bash(
  commands: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('bash', ['-e', '-c', commands.join('\n')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, out }));
  });
}

describe('README: single sign-on with OIDC', () => {
  let server: StartedServer;
  let provider: OidcProviderDouble;
  beforeAll(async () => {
    provider = await startOidcProvider({
      user: { sub: 'u-42', claims: { email: 'dana@example.com', groups: ['payments-team', 'everyone'] } },
    });
    provider.addClient('strongroom', {
      secret: 'idp-client-secret',
      redirectUris: ['http://localhost:8250/oidc/callback'],
    });
    server = await startServer();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await provider?.close();
  });

  it('walks a person from an IdP group to reading a secret', async () => {
    const commands = oidcWalkthrough(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((c) =>
      c.replaceAll(IDP, provider.issuer),
    );
    const login = commands.findIndex((c) => c.startsWith('strongroom login --method=oidc'));
    expect(login).toBeGreaterThan(0);
    expect(commands).toContain('strongroom auth enable oidc');

    const work = mkdtempSync(join(tmpdir(), 'strongroom-readme-oidc-'));
    const binDir = join(work, 'bin');
    mkdirSync(binDir);
    symlinkSync(BIN, join(binDir, 'strongroom'));
    mkdirSync(join(work, 'home'));
    writeFileSync(join(work, 'client-secret.txt'), 'idp-client-secret');
    writeFileSync(join(work, 'stripe-key.txt'), STRIPE_KEY);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('STRONGROOM_') && !k.startsWith('VAULT_')) env[k] = v;
    Object.assign(env, {
      PATH: `${binDir}:${process.env.PATH}`,
      HOME: join(work, 'home'),
      STRONGROOM_ADDR: server.url,
      NO_COLOR: '1',
    });

    const admin = commands.slice(0, login);

    const setup = await bash(admin, { ...env, STRONGROOM_TOKEN: server.rootToken }, work);
    expect(setup, setup.out).toMatchObject({ code: 0 });

    const args = commands[login]!.split(/\s+/).slice(2);
    const { result, page } = await oidcLoginAsBrowser(
      [...args, `port=${await freePort()}`, 'listenaddress=127.0.0.1', 'skip_browser=true'],
      { HOME: env.HOME!, STRONGROOM_ADDR: server.url },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(page).toContain('Signed in to Strongroom');

    const person = await bash(commands.slice(login + 1), env, work);
    expect(person, person.out).toMatchObject({ code: 0 });
    expect(person.out.trim()).toBe(STRIPE_KEY);
  }, 180_000);
});
