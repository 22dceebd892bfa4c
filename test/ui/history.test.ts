import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openConsole, type ConsoleSession } from '../support/browser.js';

/*
 * A secret's History tab against a real server: the versions timeline with who wrote each version (from the
 * database audit device), the diff of two versions with values only on request, rollback, undelete and destroy.
 * Secrets and their versions are made through the HTTP API, as a script or the CLI would.
 */
describe('web console: a secret’s history', () => {
  let ui: ConsoleSession;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    ui = await openConsole();
    api = client(ui.server.url, ui.server.rootToken);
    // sys/audit/query reads the database device; the dev server starts with none.
    await api.write('sys/audit/history-db', { type: 'database' });
    await ui.signInWithToken();
  });
  afterAll(async () => {
    await ui?.close();
  });

  it('shows three versions with their writer, diffs 1 and 3 with values hidden until asked, and rolls back to 1', async () => {
    const { page } = ui;
    const v1 = { username: 'app', password: 'first-Pw-81f2', host: 'db1.internal' };
    await api.write('secret/data/history/app-db', { data: v1 });
    await api.write('secret/data/history/app-db', { data: { ...v1, password: 'second-Pw-27ac' } });
    await api.write('secret/data/history/app-db', {
      data: { ...v1, password: 'third-Pw-9d0e', host: 'db2.internal', port: '5432' },
    });
    const diffRequests: string[] = [];
    page.on('request', (req) => {
      if (req.url().includes('/v1/secret/diff/')) diffRequests.push(req.url());
    });

    await openHistory(page, '/secrets/secret/history/app-db');
    const timeline = page.getByRole('list', { name: 'Versions of secret/history/app-db, newest first' });
    await expect.poll(() => timeline.getByRole('listitem').count()).toBe(3);
    const headings = await timeline.getByRole('heading', { level: 3 }).allTextContents();
    expect(headings).toEqual(['Version 3', 'Version 2', 'Version 1']);
    await expect.poll(() => version(page, 3).textContent()).toContain('current');
    expect(await version(page, 2).textContent()).not.toContain('current');
    // Every version's writer comes from the audit log: the root token's display name and the test's address.
    for (const n of [1, 2, 3]) {
      await expect.poll(() => version(page, n).textContent()).toMatch(/Written byroot.*from 127\.0\.0\.1/);
    }
    await ui.screenshot('history-timeline');

    // The diff starts at previous vs current; pick 1 and 3.
    await page.getByLabel('Version A').selectOption('1');
    const table = page.getByRole('table', { name: 'Keys that differ between version 1 and version 3' });
    await table.waitFor();
    const keys = await table.getByRole('rowheader').allTextContents();
    expect(keys).toEqual(['host', 'password', 'port']);
    expect(await rowText(table, 'port')).toMatch(/added\s*absent\s*hidden/);
    expect(await rowText(table, 'password')).toMatch(/changed\s*hidden\s*hidden/);
    // Values were never asked for: not in the page, not in any request.
    const html = await page.content();
    for (const value of ['first-Pw-81f2', 'third-Pw-9d0e', 'db2.internal']) expect(html).not.toContain(value);
    expect(diffRequests.length).toBeGreaterThan(0);
    expect(diffRequests.filter((u) => u.includes('show_values'))).toEqual([]);

    await page.getByLabel('Show values').check();
    await expect.poll(() => rowText(table, 'password')).toMatch(/first-Pw-81f2\s*third-Pw-9d0e/);
    expect(await rowText(table, 'host')).toMatch(/db1\.internal\s*db2\.internal/);
    expect(diffRequests.filter((u) => u.includes('show_values=true'))).toHaveLength(1);
    await ui.screenshot('history-diff');
    // Picking another version hides the values again: each look at them is asked for.
    await page.getByLabel('Version B').selectOption('2');
    expect(await page.getByLabel('Show values').isChecked()).toBe(false);
    await expect
      .poll(() => rowText(page.getByRole('table', { name: /version 1 and version 2/ }), 'password'))
      .toMatch(/hidden\s*hidden/);

    // Roll back to version 1: the confirmation names the version and what it creates.
    await version(page, 1).getByRole('button', { name: 'Roll back to version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back secret/history/app-db to version 1?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(
      "Roll back secret/history/app-db to version 1: creates version 4 with version 1's data",
    );
    await ui.screenshot('history-rollback-confirm');
    await dialog.getByRole('button', { name: 'Roll back to version 1' }).click();
    await expect.poll(() => timeline.getByRole('listitem').count()).toBe(4);
    await expect.poll(() => version(page, 4).textContent()).toMatch(/current.*by a rollback/);
    expect(await version(page, 3).textContent()).not.toContain('current');

    // Version 4 holds version 1's data, through the API and in the diff.
    const current = await api.read('secret/data/history/app-db');
    expect(current.data.metadata.version).toBe(4);
    expect(current.data.data).toEqual(v1);
    await page.getByLabel('Version A').selectOption('1');
    await page.getByLabel('Version B').selectOption('4');
    await page.getByText('Versions 1 and 4 hold the same data').waitFor();

    expect(ui.consoleMessages.filter((m) => /Content Security Policy|pageerror/.test(m))).toEqual([]);
  });

  it('undeletes a deleted version, destroys two versions after a confirmation that says it is permanent, and Escape cancels', async () => {
    const { page } = ui;
    for (const n of [1, 2, 3]) await api.write('secret/data/history/flows', { data: { n: String(n) } });
    await api.write('secret/delete/history/flows', { versions: [2] });

    await openHistory(page, '/secrets/secret/history/flows');
    const deleted = version(page, 2);
    await expect.poll(() => deleted.textContent()).toContain('deleted');
    // A deleted version cannot be rolled back to, and the tab says why.
    expect(await deleted.getByRole('button', { name: /Roll back/ }).count()).toBe(0);
    expect(await deleted.textContent()).toContain(
      'No rollback to a deleted version: its data cannot be read. Undelete it first.',
    );

    await deleted.getByRole('button', { name: 'Undelete version 2' }).click();
    const undelete = page.getByRole('dialog', { name: 'Undelete version 2 of secret/history/flows?' });
    await undelete.getByRole('button', { name: 'Undelete version 2' }).click();
    await expect.poll(() => deleted.getByRole('button', { name: 'Roll back to version 2' }).count()).toBe(1);
    expect((await api.read('secret/metadata/history/flows')).data.versions['2'].deletion_time).toBe('');

    // Escape cancels a destroy, and nothing is destroyed.
    await version(page, 3).getByRole('button', { name: 'Destroy version 3…' }).click();
    const cancelled = page.getByRole('dialog', { name: 'Destroy version 3 of secret/history/flows?' });
    await cancelled.waitFor();
    await page.keyboard.press('Escape');
    await cancelled.waitFor({ state: 'detached' });

    await version(page, 1).getByRole('checkbox', { name: 'Select version 1' }).check();
    await version(page, 2).getByRole('checkbox', { name: 'Select version 2' }).check();
    await page.getByRole('button', { name: 'Destroy selected…' }).click();
    const destroy = page.getByRole('dialog', { name: 'Destroy versions 1 and 2 of secret/history/flows?' });
    expect(await destroy.textContent()).toContain('This is permanent.');
    await ui.screenshot('history-destroy-confirm');
    await destroy.getByRole('button', { name: 'Destroy versions 1 and 2' }).click();
    await expect.poll(() => version(page, 1).textContent()).toContain('destroyed');
    expect(await version(page, 2).textContent()).toContain('No rollback to a destroyed version');

    const versions = (await api.read('secret/metadata/history/flows')).data.versions;
    expect([versions['1'].destroyed, versions['2'].destroyed, versions['3'].destroyed]).toEqual([true, true, false]);
    await ui.screenshot('history-states');
    // Destroyed versions leave the diff's choices: only version 3 is readable, so there is nothing to compare.
    await page.getByText('Nothing to compare').waitFor();
  });

  it('explains a rollback refused because someone wrote meanwhile, and the reloaded confirmation names the new version', async () => {
    const { page } = ui;
    for (const n of [1, 2]) await api.write('secret/data/history/race', { data: { n: String(n) } });
    await openHistory(page, '/secrets/secret/history/race');
    await version(page, 1).getByRole('button', { name: 'Roll back to version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back secret/history/race to version 1?' });
    expect(await dialog.textContent()).toContain('creates version 3');
    // Another writer gets there first.
    await api.write('secret/data/history/race', { data: { n: '3' } });
    await dialog.getByRole('button', { name: 'Roll back to version 1' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/Someone wrote a new version meanwhile/);
    await expect.poll(() => dialog.textContent()).toContain('creates version 4');
    expect((await api.read('secret/metadata/history/race')).data.current_version).toBe(3);
    await dialog.getByRole('button', { name: 'Roll back to version 1' }).click();
    await expect.poll(() => version(page, 4).textContent()).toContain('current');
    expect((await api.read('secret/data/history/race')).data.data).toEqual({ n: '1' });
  });

  it('shows the timeline without writers to a token lacking audit access, and "Permission denied" without metadata access', async () => {
    await api.write('secret/data/history/limited', { data: { a: '1' } });
    await api.write('sys/policies/acl/history-metadata', {
      policy: 'path "secret/metadata/history/*" { capabilities = ["read"] }',
    });
    const reader = await api.token(['history-metadata']);
    const outsider = await api.token(['default']);

    const page = await ui.newPage();
    await signIn(page, ui.url('/login'), reader);
    await openHistory(page, '/secrets/secret/history/limited');
    await expect.poll(() => version(page, 1).textContent()).toContain('writer: needs audit access');
    expect(await page.getByRole('alert').count()).toBe(0);

    const denied = await ui.newPage();
    await signIn(denied, ui.url('/login'), outsider);
    await openHistory(denied, '/secrets/secret/history/limited');
    await denied.getByText('Permission denied').waitFor();
    expect(await denied.getByRole('list', { name: /Versions of/ }).count()).toBe(0);

    // A path with no secret is an empty history, not an error.
    await openHistory(page, '/secrets/secret/history/never-written');
    await page.getByText('No history').waitFor();
  });

  it('follows a dark system theme', async () => {
    const { page } = ui;
    await page.emulateMedia({ colorScheme: 'dark' });
    await openHistory(page, '/secrets/secret/history/app-db');
    await page.getByRole('table', { name: /Keys that differ/ }).waitFor();
    for (const toast of await page.getByRole('button', { name: 'Dismiss' }).all()) await toast.click();
    // Evaluated in the page (a string: this file is type-checked without the DOM's types).
    const background = await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
    expect(background).toBe('rgb(15, 17, 21)');
    await ui.screenshot('history-dark');
  });
});

/** Navigates inside the running console (a page load would forget the in-memory session) and opens History. */
async function openHistory(page: Page, path: string): Promise<void> {
  const to = JSON.stringify(`/ui${path}`);
  await page.evaluate(`history.pushState(null, '', ${to}); dispatchEvent(new PopStateEvent('popstate'))`);
  await page.getByRole('tab', { name: 'History' }).click();
  await page
    .getByRole('heading', { name: 'Versions', exact: true })
    .or(page.getByRole('alert'))
    .or(page.getByText('No history'))
    .first()
    .waitFor();
}

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

function version(page: Page, n: number) {
  return page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: `Version ${n}`, exact: true }) });
}

async function rowText(table: ReturnType<Page['getByRole']>, key: string): Promise<string> {
  return (
    await table
      .getByRole('row')
      .filter({ has: table.page().getByRole('rowheader', { name: key, exact: true }) })
      .innerText()
  ).replace(/\s+/g, ' ');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Vault's JSON envelope, read loosely in a test
type Envelope = { data: any; auth?: { client_token: string } };

function client(url: string, token: string) {
  const call = async (method: string, path: string, body?: unknown): Promise<Envelope> => {
    const res = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as Envelope;
  };
  return {
    read: (path: string) => call('GET', path),
    write: (path: string, body: unknown) => call('POST', path, body),
    token: async (policies: string[]) =>
      (await call('POST', 'auth/token/create', { policies, ttl: '1h' })).auth!.client_token,
  };
}
