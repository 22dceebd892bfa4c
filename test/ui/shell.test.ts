import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, type ConsoleSession } from '../support/browser.js';

/*
 * The console as served: strict headers on every page and asset, no caching of API answers, and the shell's
 * sign-in, navigation and sign-out in a real browser.
 */
describe('web console: serving and the shell', () => {
  let ui: ConsoleSession;
  beforeAll(async () => {
    ui = await openConsole();
  });
  afterAll(async () => {
    await ui?.close();
  });

  it('serves every page with a CSP that forbids inline script and framing, and the usual hardening headers', async () => {
    for (const path of ['/ui/', '/ui/secrets/secret/app', '/ui/login']) {
      const res = await fetch(`${ui.server.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const csp = res.headers.get('content-security-policy') ?? '';
      const directives = new Map(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name!, values] as const;
        }),
      );
      expect(directives.get('script-src')).toEqual(["'self'"]);
      expect(directives.get('style-src')).toEqual(["'self'"]);
      expect(directives.get('default-src')).toEqual(["'none'"]);
      expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
      expect(directives.get('connect-src')).toEqual(["'self'"]);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const html = await res.text();
      // No inline script or style in the page itself: every <script> has a src, and there is no <style> element.
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\ssrc="\/ui\/assets\//);
      expect(html).not.toMatch(/<style\b/);
      expect(html).not.toMatch(/\son[a-z]+=/i);
    }
  });

  it('serves hashed assets as immutable with the same CSP, gzip when asked, and 404 for an unknown asset', async () => {
    const html = await (await fetch(`${ui.server.url}/ui/`)).text();
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const res = await fetch(`${ui.server.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const etag = res.headers.get('etag')!;
    expect((await fetch(`${ui.server.url}${script}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const missing = await fetch(`${ui.server.url}/ui/assets/nope-123.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).not.toMatch(/html/);
    // The server root sends people to the console.
    const root = await fetch(`${ui.server.url}/`, { redirect: 'manual' });
    expect(root.headers.get('location')).toBe('/ui/');
  });

  it('keeps the initial JavaScript under 200 KB gzipped', async () => {
    const html = await (await fetch(`${ui.server.url}/ui/`)).text();
    const initial = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(initial.length).toBeGreaterThan(0);
    let gz = 0;
    for (const asset of initial) {
      const res = await fetch(`${ui.server.url}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      // fetch decodes the body; the wire size is the compressed copy the server holds.
      gz += Number(res.headers.get('content-length') ?? (await res.arrayBuffer()).byteLength);
    }
    expect(gz).toBeLessThanOrEqual(200 * 1024);
  });

  it('marks every API answer no-store, secret data, errors and unknown paths alike', async () => {
    const token = ui.server.rootToken;
    await fetch(`${ui.server.url}/v1/secret/data/shell-test`, {
      method: 'POST',
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { password: 'hunter2' } }),
    });
    const answers = [
      await fetch(`${ui.server.url}/v1/secret/data/shell-test`, { headers: { 'x-vault-token': token } }),
      await fetch(`${ui.server.url}/v1/secret/data/shell-test`),
      await fetch(`${ui.server.url}/v1/sys/health`),
      await fetch(`${ui.server.url}/v1/no/such/path`, { headers: { 'x-vault-token': token } }),
      await fetch(`${ui.server.url}/v1/secret/data/shell-test`, {
        method: 'POST',
        headers: { 'x-vault-token': token },
        body: '{not json',
      }),
      // Another spelling of /v1 that the router decodes and matches.
      await fetch(`${ui.server.url}/%761/secret/data/shell-test`, { headers: { 'x-vault-token': token } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 403, 200, 404, 400, 200]);
    for (const res of answers) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('asks for a token, signs in, shows the policies held, navigates by keyboard, and signing out revokes the token', async () => {
    const { page, server } = ui;
    const token = await createToken(server.url, server.rootToken, ['default']);
    await page.goto(ui.url('/policies'));
    // Not signed in: the login page, which remembers where the person was going.
    await page.getByRole('heading', { name: 'Sign in to Strongroom' }).waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/policies');
    await page.getByLabel('Token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/does not accept this token/);
    await page.getByLabel('Token').fill(token);
    await page.getByLabel('Token').press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/policies');
    expect(await page.getByLabel('Your policies').textContent()).toContain('default');
    // The token is nowhere but in memory: not in the URL, not in either storage.
    expect(page.url()).not.toContain(token);
    expect(
      await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })'),
    ).not.toContain(token);
    // Keyboard: the skip link comes first, then the main navigation.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await ui.screenshot('shell-signed-in');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Strongroom' }).waitFor();
    const lookup = await fetch(`${server.url}/v1/auth/token/lookup-self`, { headers: { 'x-vault-token': token } });
    expect(lookup.status).toBe(403);
    // No CSP violation or uncaught error happened on the way.
    expect(ui.consoleMessages.filter((m) => /Content Security Policy|pageerror/.test(m))).toEqual([]);
  });
});

async function createToken(url: string, rootToken: string, policies: string[]): Promise<string> {
  const res = await fetch(`${url}/v1/auth/token/create`, {
    method: 'POST',
    headers: { 'x-vault-token': rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ policies, ttl: '1h' }),
  });
  const body = (await res.json()) as { auth: { client_token: string } };
  return body.auth.client_token;
}
