import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeFrom } from '../../src/identity/mfa/testing.js';
import { api } from '../integration/server/client.js';
import { accessibilityViolations, openConsole, type ConsoleSession } from '../support/browser.js';
import { startOidcProvider, type OidcProviderDouble } from '../support/oidc-provider.js';
import { enableAuthMethods } from '../support/server-process.js';

/*
 * Signing in to the console with each method, against a real server and Debian's Chromium: a token, userpass (on
 * the default mount and on another one), OIDC's redirect flow through the provider double, and a second factor
 * (TOTP). Wrong passwords, locked users and a provider's refusal are explained; signing out revokes the token.
 */
const PASSWORD = 'correct horse battery staple';

describe('web console: sign-in', () => {
  let ui: ConsoleSession;
  /** A screenshot of the page as it is, which must also pass axe-core's WCAG 2.1 A/AA rules. */
  const capture = async (name: string) => {
    await ui.screenshot(name);
    expect({ name, violations: await accessibilityViolations(ui.page) }).toEqual({ name, violations: [] });
  };
  let provider: OidcProviderDouble;
  const root = async (method: string, path: string, body?: unknown) => {
    const res = await api(ui.server.url, method, path, {
      token: ui.server.rootToken,
      ...(body !== undefined ? { body } : {}),
    });
    expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
    return res;
  };
  const policies = () => ui.page.getByLabel('Your policies').textContent();
  /** The shell names the session's accessor (never the token): the API then tells whether that token still lives. */
  const sessionAccessor = async () =>
    ((await ui.page.locator('.whoami-name').getAttribute('title')) ?? '').replace(/^accessor /, '');
  const signOut = async () => {
    await ui.page.getByRole('button', { name: 'Sign out' }).click();
    await ui.page.getByRole('heading', { name: 'Sign in to Strongroom' }).waitFor();
  };
  const chooseMethod = (name: string) => ui.page.getByRole('tab', { name }).click();

  beforeAll(async () => {
    ui = await openConsole();
    provider = await startOidcProvider({ user: { sub: 'u-42', claims: { email: 'dana@example.com' } } });
    const callback = ui.url('/auth/oidc/callback');
    provider.addClient('strongroom-console', { secret: 'console-secret', redirectUris: [callback] });
    await enableAuthMethods(ui.server, 'userpass', 'oidc');
    await root('POST', 'sys/auth/people', { type: 'userpass' });
    await root('POST', 'sys/policies/acl/team-read', {
      policy: 'path "secret/data/team/*" { capabilities = ["read"] }',
    });
    await root('POST', 'sys/policies/acl/sso-read', { policy: 'path "secret/data/sso/*" { capabilities = ["read"] }' });
    await root('POST', 'auth/userpass/users/alice', { password: PASSWORD, token_policies: 'team-read' });
    await root('POST', 'auth/people/users/bob', { password: PASSWORD, token_policies: 'team-read' });
    await root('POST', 'auth/oidc/config', {
      oidc_discovery_url: provider.issuer,
      oidc_client_id: 'strongroom-console',
      oidc_client_secret: 'console-secret',
    });
    await root('POST', 'auth/oidc/role/people', {
      user_claim: 'email',
      allowed_redirect_uris: callback,
      token_policies: 'sso-read',
    });
  }, 60_000);
  afterAll(async () => {
    await ui?.close();
    await provider?.close();
  });

  it('signs in with a token: the token tab is the default and the shell shows the policies', async () => {
    const { page } = ui;
    const created = await root('POST', 'auth/token/create', { policies: ['team-read'], ttl: '1h' });
    await page.goto(ui.url('/login'));
    expect(await page.getByRole('tab', { name: 'Token' }).getAttribute('aria-selected')).toBe('true');
    await capture('login-token');
    await page.getByLabel('Token', { exact: true }).fill(created.body.auth.client_token as string);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await policies()).toContain('team-read');
    await signOut();
  });

  it('signs in with userpass, and a wrong password or an unknown user gets a clear error', async () => {
    const { page } = ui;
    await page.goto(ui.url('/login?next=/access'));
    await chooseMethod('Userpass');
    expect(await page.getByLabel('Mount path').inputValue()).toBe('userpass/');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong username or password.');
    await page.getByLabel('Username').fill('nobody');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The same words for an unknown name: the form does not tell which usernames exist.
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong username or password.');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await capture('login-userpass');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/access');
    expect(await policies()).toContain('team-read');
    expect(await page.locator('.whoami-name').textContent()).toBe('userpass-alice');
    // Neither the password nor a token went into the address bar or into storage.
    expect(page.url()).not.toContain(encodeURIComponent(PASSWORD));
    expect(await page.evaluate('JSON.stringify({ ...localStorage, ...sessionStorage })')).toBe('{}');

    // Signing out revokes the token on the server, checked through the API by its accessor.
    const accessor = await sessionAccessor();
    expect(accessor).not.toBe('');
    expect((await root('POST', 'auth/token/lookup-accessor', { accessor })).body.data.display_name).toBe(
      'userpass-alice',
    );
    await signOut();
    const gone = await api(ui.server.url, 'POST', 'auth/token/lookup-accessor', {
      token: ui.server.rootToken,
      body: { accessor },
    });
    expect(gone.status).toBe(400);
  });

  it('signs in on another userpass mount, and explains a locked account with the server’s own words', async () => {
    const { page } = ui;
    await root('POST', 'sys/auth/people/tune', {
      user_lockout_config: { lockout_threshold: '2', lockout_duration: '10m', lockout_counter_reset: '10m' },
    });
    await page.goto(ui.url('/login?method=userpass'));
    await page.getByLabel('Mount path').fill('/people/');
    await page.getByLabel('Username').fill('bob');
    for (const attempt of ['wrong-1', 'wrong-2']) {
      await page.getByLabel('Password').fill(attempt);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong username or password.');
    }
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/^The server refused this sign-in: "permission denied"\. The account may be locked/);
    await page.getByLabel('Mount path').fill('nowhere/');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/No userpass auth method is mounted/);
  });

  it('signs in with OIDC: to the provider and back, ending signed in with the role’s policies', async () => {
    const { page } = ui;
    await page.goto(ui.url('/login?next=/access'));
    await chooseMethod('OIDC');
    expect(await page.getByLabel('Mount path').inputValue()).toBe('oidc/');
    await page.getByLabel('Role').fill('people');
    await capture('login-oidc');
    const toProvider = page.waitForRequest((req) => req.url().startsWith(`${provider.issuer}/`));
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    const authorize = new URL((await toProvider).url());
    expect(authorize.searchParams.get('redirect_uri')).toBe(ui.url('/auth/oidc/callback'));
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/access');
    // The provider's code and state are gone from the address bar; the round trip's notes are gone from storage.
    expect(page.url()).not.toMatch(/code=|state=/);
    expect(await page.evaluate('JSON.stringify({ ...sessionStorage })')).toBe('{}');
    expect(await policies()).toContain('sso-read');
    expect(await page.locator('.whoami-name').textContent()).toBe('oidc-dana@example.com');
    await signOut();
  });

  it('shows the provider’s refusal, and a role that does not allow the console’s address', async () => {
    const { page } = ui;
    provider.failNextAuthorization('access_denied', 'the user declined the consent screen');
    await page.goto(ui.url('/login?method=oidc'));
    await page.getByLabel('Role').fill('people');
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    await page.getByText('Sign-in failed', { exact: true }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('the user declined the consent screen');
    // The spent state is out of the address bar even when the sign-in failed.
    expect(new URL(page.url()).search).toBe('');
    await capture('login-oidc-provider-refused');
    expect(await page.evaluate('JSON.stringify({ ...sessionStorage })')).toBe('{}');

    await root('POST', 'auth/oidc/role/elsewhere', {
      user_claim: 'email',
      allowed_redirect_uris: 'https://console.example/ui/auth/oidc/callback',
    });
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await page.getByLabel('Role').fill('elsewhere');
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/The role "elsewhere" does not allow this console's address as a redirect URI/);
    await page.getByLabel('Role').fill('nope');
    await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/role "nope" could not be found/);
  });

  it('asks for a TOTP passcode when the login requires a second factor, and signs in once it is right', async () => {
    const { page } = ui;
    await root('POST', 'auth/userpass/users/carol', { password: PASSWORD, token_policies: 'team-read' });
    // A first login creates carol's entity, which the TOTP secret is generated for.
    const first = await api(ui.server.url, 'POST', 'auth/userpass/login/carol', { body: { password: PASSWORD } });
    const entityId = first.body.auth.entity_id as string;
    const method = await root('POST', 'identity/mfa/method/totp', { issuer: 'Strongroom', method_name: 'corp-totp' });
    const methodId = method.body.data.method_id as string;
    const generated = await root('POST', 'identity/mfa/method/totp/admin-generate', {
      method_id: methodId,
      entity_id: entityId,
    });
    const otpUrl = generated.body.data.url as string;
    const mounts = await root('GET', 'sys/auth');
    await root('POST', 'identity/mfa/login-enforcement/people-totp', {
      mfa_method_ids: [methodId],
      auth_method_accessors: [mounts.body.data['userpass/'].accessor],
    });

    await page.goto(ui.url('/login?method=userpass'));
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Second factor' }).waitFor();
    const code = codeFrom(otpUrl, Date.now());
    await page.getByLabel('Passcode').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/^The passcode was not accepted: /);
    await capture('login-mfa');
    await page.getByLabel('Passcode').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await page.locator('.whoami-name').textContent()).toBe('userpass-carol');
    await signOut();
  });

  it('looks right in the dark theme', async () => {
    const { page } = ui;
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(ui.url('/login?method=userpass'));
    await page.getByLabel('Username').waitFor();
    await capture('login-userpass-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
