import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { accessibilityViolations, openConsole, type ConsoleSession } from '../support/browser.js';

/*
 * The policies view against a real server: a policy written with a syntax error shows the error at its line and
 * column (the server's own check, as one types), is fixed and saved with PUT; the simulator's answer for a token
 * equals what sys/capabilities answers for that token and path (asked through the API here).
 */
const BROKEN = `path "secret/data/web/*" {
  capabilities = ["read", "list"]
}

path "secret/data/web/admin" {
  capabilities = ["deny"
}
`;
const FIXED = BROKEN.replace('["deny"\n', '["deny"]\n');

describe('web console: policies', () => {
  let ui: ConsoleSession;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    ui = await openConsole();
    api = client(ui.server.url, ui.server.rootToken);
    await ui.signInWithToken();
  });
  afterAll(async () => {
    await ui?.close();
  });

  it('shows a syntax error at its line and column, then saves the fixed policy', async () => {
    const { page } = ui;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('table', { name: 'ACL policies' }).waitFor();
    const names = await page.getByRole('table', { name: 'ACL policies' }).getByRole('link').allTextContents();
    expect(names).toEqual(expect.arrayContaining(['default', 'root']));
    await ui.screenshot('policies-list');

    await page.getByRole('button', { name: 'New policy' }).click();
    await page.getByLabel('Policy name').fill('web-app');
    const editor = page.getByLabel('Policy text (HCL or JSON)');
    await editor.fill(BROKEN);

    // Validated as typed: the server's dry run places the error at line 7, column 1 (the '}' where ']' belonged).
    const problem = page.getByRole('group', { name: 'Problem in the policy' });
    await expect.poll(() => problem.textContent()).toMatch(/^Line 7, column 1: expected ',' or ']' in list/);
    expect(await page.locator('.hcl-lineno-error').allTextContents()).toEqual(['7']);
    expect(await editor.getAttribute('aria-invalid')).toBe('true');
    // The server's write says the same thing, in the same form.
    const write = await api.call('PUT', 'sys/policies/acl/web-app', { policy: BROKEN });
    expect(write.status).toBe(400);
    expect(write.body.errors?.[0]).toMatch(/^line 7, column 1: expected ',' or ']' in list/);
    await ui.screenshot('policies-editor-error');
    // The editor with its error marked passes WCAG A/AA checks (contrast of the marked line included).
    expect(await accessibilityViolations(page)).toEqual([]);

    // "Go to" puts the caret on the error.
    await problem.getByRole('button', { name: 'Go to line 7, column 1' }).click();
    const caret = await editor.evaluate((el) => (el as unknown as { selectionStart: number }).selectionStart);
    expect(caret).toBe(BROKEN.indexOf('}\n', BROKEN.indexOf('["deny"')));

    // Saving the broken text is refused by the server, with the error in place; nothing is stored.
    await page.getByRole('button', { name: 'Create policy' }).click();
    await expect.poll(() => problem.textContent()).toMatch(/^Line 7, column 1:/);
    expect((await api.call('GET', 'sys/policies/acl/web-app')).status).toBe(404);

    await editor.fill(FIXED);
    await page.getByRole('status').filter({ hasText: 'The server finds no problem: 2 rules.' }).waitFor();
    await expect.poll(() => problem.count()).toBe(0);
    await page.getByRole('button', { name: 'Create policy' }).click();
    await page.getByRole('heading', { level: 1, name: 'Policy web-app' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/policies/web-app');
    const stored = await api.call('GET', 'sys/policies/acl/web-app');
    expect(stored.body.data?.policy).toBe(FIXED);
  });

  it('answers for a token exactly what sys/capabilities answers, with the rule that decided', async () => {
    const { page } = ui;
    const token = await api.token(['web-app']);
    await openPolicy(page, 'web-app');
    const simulator = page.getByRole('region', { name: 'Simulator' });
    await simulator.getByLabel('A token or accessor').check();
    await simulator.getByLabel('Token to simulate').fill(token);

    for (const [path, line] of [
      ['secret/data/web/config', 1],
      ['secret/data/other', undefined],
      ['secret/data/web/admin', 5],
    ] as const) {
      await simulator.getByLabel('Path').fill(path);
      await simulator.getByRole('button', { name: 'Check capabilities' }).click();
      await simulator.getByRole('heading', { name: `Capabilities on ${path}` }).waitFor();
      const shown = await simulator.getByRole('list', { name: 'Capabilities' }).getByRole('listitem').allTextContents();
      const vault = await api.call('POST', 'sys/capabilities', { token, paths: [path] });
      expect(shown).toEqual(vault.body.data?.[path]);
      expect(await simulator.locator('.vault-check').textContent()).toBe(
        `sys/capabilities answers ${shown.join(', ')}: the same.`,
      );
      const rules = simulator.getByRole('list', { name: 'Deciding rules' });
      if (line === undefined) {
        expect(await rules.count()).toBe(0);
        expect(await simulator.textContent()).toContain('No rule matches this path');
      } else {
        expect(await rules.textContent()).toContain(`Policy web-app, line ${line}`);
        if (shown[0] === 'deny') expect(await simulator.textContent()).toContain('denies, and a deny wins');
      }
    }
    // The token typed is never in the page's markup or its address.
    expect(await page.content()).not.toContain(token);
    expect(page.url()).not.toContain(token);
    await ui.screenshot('policies-simulator');
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'dark' });
    await ui.screenshot('policies-simulator-dark');
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('simulates the policy as edited, and shows the line of the rule that decided', async () => {
    const { page } = ui;
    await openPolicy(page, 'web-app');
    const editor = page.getByLabel('Policy text (HCL or JSON)');
    await editor.fill(`${FIXED}\npath "secret/data/web/admin" {\n  capabilities = ["read"]\n}\n`);
    const simulator = page.getByRole('region', { name: 'Simulator' });
    await simulator.getByLabel('This policy (as edited)').check();
    await simulator.getByLabel('Path').fill('secret/data/web/admin');
    await simulator.getByRole('button', { name: 'Check capabilities' }).click();
    await simulator.getByRole('heading', { name: 'Capabilities on secret/data/web/admin' }).waitFor();
    // Two rules with one pattern merge, and the deny still wins.
    const shown = await simulator.getByRole('list', { name: 'Capabilities' }).getByRole('listitem').allTextContents();
    expect(shown).toEqual(['deny']);
    const rules = await simulator.getByRole('list', { name: 'Deciding rules' }).getByRole('listitem').allTextContents();
    expect(rules).toHaveLength(2);
    await simulator.getByRole('button', { name: 'Show line 9' }).first().click();
    expect(await editor.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    // Keyboard: Tab indents inside the text; Escape then Tab leaves it (no keyboard trap).
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Tab');
    expect(await editor.inputValue()).toMatch(/\n {2}$/);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await editor.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(false);
    // Nothing was saved: the stored policy is still the fixed one.
    expect((await api.call('GET', 'sys/policies/acl/web-app')).body.data?.policy).toBe(FIXED);
  });

  it('a token without rights sees "Permission denied" and no policy names', async () => {
    // Only the default policy: it may look itself up, not list policies.
    const token = await api.token(['default']);
    const page = await ui.newPage();
    await page.goto(ui.url('/login'));
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByText('Permission denied').waitFor();
    expect(await page.getByRole('table', { name: 'ACL policies' }).count()).toBe(0);
    expect(await page.content()).not.toContain('web-app');
    // The simulator still answers "what can I do here?" from sys/capabilities-self, which the default policy allows.
    const simulator = page.getByRole('region', { name: 'Simulator' });
    await simulator.getByLabel('Me (my token)').check();
    await simulator.getByLabel('Path').fill('auth/token/lookup-self');
    await simulator.getByRole('button', { name: 'Check capabilities' }).click();
    await simulator.getByRole('heading', { name: 'Capabilities on auth/token/lookup-self' }).waitFor();
    const shown = await simulator.getByRole('list', { name: 'Capabilities' }).getByRole('listitem').allTextContents();
    const self = await fetch(`${ui.server.url}/v1/sys/capabilities-self`, {
      method: 'POST',
      headers: { 'x-vault-token': token },
      body: JSON.stringify({ paths: ['auth/token/lookup-self'] }),
    });
    expect(shown).toEqual(((await self.json()) as Envelope).data?.['auth/token/lookup-self']);
    expect(shown).toContain('read');
    expect(await simulator.textContent()).toContain('may not ask which rule decided');
    await page.close();
  });
});

async function openPolicy(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
  await page.getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 1, name: `Policy ${name}` }).waitFor();
}

interface Envelope {
  data?: Record<string, unknown> & { policy?: string };
  auth?: { client_token: string };
  errors?: string[];
}

function client(url: string, token: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Envelope };
  };
  return {
    call,
    token: async (policies: string[]) => {
      const res = await call('POST', 'auth/token/create', {
        policies,
        ttl: '1h',
        no_default_policy: !policies.includes('default'),
      });
      if (res.status !== 200) throw new Error(`token create: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.auth!.client_token;
    },
  };
}
