import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { accessibilityViolations, openConsole, type ConsoleSession } from '../support/browser.js';

/*
 * The secrets browser against a real server in a real Chromium: mounts, folders, a secret's keys with values kept
 * out of the page until revealed (each reveal a read of data/), create and edit as rows and as JSON, a CAS conflict
 * explained with the edit kept, and a token that may only list.
 */
describe('web console: secrets', () => {
  let ui: ConsoleSession;
  // Values unique to this run, so "not in the page" cannot pass by accident and cannot be confused with a key name.
  const password = `pw-${Math.random().toString(36).slice(2)}-x9`;
  const username = `user-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    ui = await openConsole();
    await call('POST', 'sys/mounts/legacy', { type: 'kv', description: 'old KV v1 store' });
    await call('POST', 'secret/data/team-a/app/db', {
      data: { username, password },
    });
    await call('POST', 'secret/data/team-a/app/cache', { data: { url: 'redis://cache' } });
    await call('POST', 'legacy/old/thing', { apikey: 'legacy-value-1' });
  });
  afterAll(async () => {
    await ui?.close();
  });

  async function call(method: string, path: string, body?: unknown, token = ui.server.rootToken) {
    const res = await fetch(`${ui.server.url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as { data: Record<string, unknown>; auth?: { client_token: string } }) : undefined;
  }

  async function readData(path: string): Promise<{ data: Record<string, unknown>; version: number }> {
    const res = (await call('GET', `secret/data/${path}`))!;
    const d = res.data as { data: Record<string, unknown>; metadata: { version: number } };
    return { data: d.data, version: d.metadata.version };
  }

  /** Requests the page made to read secret values (data/ of KV v2), with their query strings. */
  function watchDataReads(page: Page): string[] {
    const reads: string[] = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (req.method() === 'GET' && url.pathname.startsWith('/v1/secret/data/')) reads.push(url.pathname + url.search);
    });
    return reads;
  }

  /**
   * Signs in with "keep me signed in in this tab" (sessionStorage), so that page.goto — a reload — keeps the session,
   * as it does for a person who opens a bookmarked address.
   */
  async function signIn(token: string) {
    const { page } = ui;
    await page.goto(ui.url('/login'));
    await page.getByLabel('Token').fill(token);
    await page.getByLabel('Keep me signed in in this tab').check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  }

  const bodyText = (page: Page) => page.evaluate<string>('document.documentElement.outerHTML');

  it('lists the mounts, browses through folders by mouse and keyboard, and keeps values out of the page until revealed', async () => {
    const { page } = ui;
    await signIn(ui.server.rootToken);
    const reads = watchDataReads(page);
    await page.goto(ui.url('/secrets'));
    const mounts = page.getByRole('table');
    await mounts
      .getByRole('row', { name: /secret\// })
      .getByText('KV version 2')
      .waitFor();
    await mounts
      .getByRole('row', { name: /legacy\// })
      .getByText('KV version 1')
      .waitFor();
    // Not a KV engine: listed, said what it is, and not a link.
    const transit = mounts.getByRole('row', { name: /transit\// });
    expect(await transit.textContent()).toContain('not a key/value store');
    expect(await transit.getByRole('link').count()).toBe(0);
    await ui.screenshot('secrets-mounts');
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole('link', { name: 'secret/' }).click();
    await page.getByRole('heading', { name: 'secret/', level: 1 }).waitFor();
    await page.getByRole('link', { name: /team-a\// }).click();
    await page.getByRole('heading', { name: 'secret/team-a/', level: 1 }).waitFor();
    // Keyboard: type in the filter, ↓ into the list, Enter opens.
    await page.getByLabel('Filter this folder').fill('ap');
    await page.getByLabel('Filter this folder').press('ArrowDown');
    expect(await page.evaluate<string>('document.activeElement?.textContent')).toContain('app/');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'secret/team-a/app/', level: 1 }).waitFor();
    // The filter narrows the listed keys.
    await page.getByLabel('Filter this folder').fill('zzz');
    await page.getByText('No key in this folder matches “zzz”').waitFor();
    await page.getByLabel('Filter this folder').fill('');
    const breadcrumb = page.getByRole('navigation', { name: 'Breadcrumb' });
    expect(await breadcrumb.getByRole('link').allTextContents()).toEqual(['Secrets', 'secret/', 'team-a/']);
    await ui.screenshot('secrets-browser');
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole('link', { name: 'db (secret)' }).click();
    await page.getByRole('heading', { name: 'secret/team-a/app/db', level: 1 }).waitFor();
    const passwordRow = page.getByRole('row', { name: /password/ });
    await passwordRow.getByRole('button', { name: 'Reveal' }).waitFor();
    await page
      .getByRole('row', { name: /username/ })
      .getByRole('button', { name: 'Reveal' })
      .waitFor();
    // Masked means absent: neither value is anywhere in the document, and no read of data/ has been made.
    expect(await bodyText(page)).not.toContain(password);
    expect(await bodyText(page)).not.toContain(username);
    expect(reads).toEqual([]);
    // Metadata is shown without revealing anything.
    await page.getByText('Current version').waitFor();
    await ui.screenshot('secrets-secret-masked');
    expect(await accessibilityViolations(page)).toEqual([]);

    await passwordRow.getByRole('button', { name: 'Reveal' }).click();
    await passwordRow.getByText(password).waitFor();
    // One audited read, at the version shown; revealing one key does not put its neighbour in the page.
    expect(reads).toEqual(['/v1/secret/data/team-a/app/db?version=1']);
    expect(await bodyText(page)).not.toContain(username);
    await ui.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await passwordRow.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied the value of “password”').waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(password);
    await ui.screenshot('secrets-secret-revealed');
    expect(await accessibilityViolations(page)).toEqual([]);

    await passwordRow.getByRole('button', { name: 'Hide' }).click();
    await passwordRow.getByRole('button', { name: 'Reveal' }).waitFor();
    expect(await bodyText(page)).not.toContain(password);
    await page.getByRole('button', { name: 'Reveal all' }).click();
    await page.getByText(username).waitFor();
    await page.getByText(password).waitFor();
    expect(reads).toHaveLength(2);

    // Going straight to another secret (a link, back/forward) starts masked again: nothing revealed carries over.
    await page.evaluate(
      "history.pushState(null, '', '/ui/secrets/secret/team-a/app/cache'); dispatchEvent(new PopStateEvent('popstate'))",
    );
    await page.getByRole('heading', { name: 'secret/team-a/app/cache', level: 1 }).waitFor();
    await page.getByRole('row', { name: /url/ }).getByRole('button', { name: 'Reveal' }).waitFor();
    expect(await bodyText(page)).not.toContain(password);
    expect(await page.getByRole('row', { name: /password/ }).count()).toBe(0);

    // A KV v1 mount is browsable too: its secret is read only on request.
    await page.goto(ui.url('/secrets/legacy/old/thing'));
    await page.getByRole('heading', { name: 'legacy/old/thing', level: 1 }).waitFor();
    await page.getByText('cannot list its keys without reading').waitFor();
    expect(await bodyText(page)).not.toContain('legacy-value-1');
    await page.getByRole('button', { name: 'Reveal all' }).click();
    await page.getByText('legacy-value-1').waitFor();
    // KV v1 has no check-and-set: creating over an existing secret is refused before writing; a new one is saved.
    await page.goto(ui.url('/secrets/legacy/old/?new=1'));
    await page.getByLabel('Path', { exact: true }).fill('old/thing');
    await page.getByLabel('Key 1').fill('fresh');
    await page.getByLabel('Value 1').fill('fresh-value');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('A secret already exists at this path').waitFor();
    expect(((await call('GET', 'legacy/old/thing'))!.data as Record<string, unknown>).apikey).toBe('legacy-value-1');
    await page.getByLabel('Path', { exact: true }).fill('old/new-one');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'legacy/old/new-one', level: 1 }).waitFor();
    expect((await call('GET', 'legacy/old/new-one'))!.data).toEqual({ fresh: 'fresh-value' });
    expect(ui.consoleMessages.filter((m) => /Content Security Policy|pageerror/.test(m))).toEqual([]);
  });

  it('creates a secret as rows, edits it (version 2), then edits it as JSON (version 3)', async () => {
    const { page } = ui;
    const writes: Array<{ path: string; cas: unknown }> = [];
    page.on('request', (req) => {
      if (req.method() === 'POST' && req.url().includes('/v1/secret/data/')) {
        const body = req.postDataJSON() as { options?: { cas?: unknown } };
        writes.push({ path: new URL(req.url()).pathname, cas: body.options?.cas });
      }
    });
    await page.goto(ui.url('/secrets/secret/team-b/'));
    await page.getByText('This folder is empty').waitFor();
    await page.getByRole('button', { name: 'New secret' }).click();
    await page.getByRole('heading', { name: 'New secret in secret/team-b/' }).waitFor();
    const pathField = page.getByLabel('Path', { exact: true });
    expect(await pathField.inputValue()).toBe('team-b/');
    // Bad paths are explained before anything is sent.
    await page.getByLabel('Key 1').fill('token');
    await page.getByLabel('Value 1').fill('line one\nline two');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('A path ending in "/" is a folder').waitFor();
    await pathField.fill('team-b/my api');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('"a space" is not allowed').waitFor();
    await pathField.fill('team-b//api');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('may not contain an empty folder').waitFor();
    await pathField.fill('team-b/api');
    // Duplicate and empty keys are refused inline, on their row.
    await page.getByRole('button', { name: 'Add row' }).click();
    await page.getByLabel('Key 2').fill('token');
    await page.getByLabel('Value 2').fill('eu');
    await page.getByRole('button', { name: 'Add row' }).click();
    await page.getByLabel('Value 3').fill('orphan');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('“token” is already used in row 1.').waitFor();
    await page.getByText('Enter a key for this value.').waitFor();
    expect(writes).toEqual([]);
    await page.getByRole('button', { name: 'Remove row 3' }).click();
    await page.getByLabel('Key 2').fill('region');
    await ui.screenshot('secrets-editor');
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'secret/team-b/api', level: 1 }).waitFor();
    await page.getByText('Version 1', { exact: true }).waitFor();
    expect(await readData('team-b/api')).toEqual({
      data: { token: 'line one\nline two', region: 'eu' },
      version: 1,
    });

    // Edit as rows: the editor says it reads the value, and starts from it.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByText('Editing reads the current value of this secret').waitFor();
    await page.getByText('Starting from version 1.').waitFor();
    const regionRow = await rowOf(page, 'region');
    expect(await page.getByLabel(`Value ${regionRow}`).inputValue()).toBe('eu');
    await page.getByLabel(`Value ${regionRow}`).fill('us');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Version 2', { exact: true }).waitFor();
    expect(await readData('team-b/api')).toEqual({
      data: { token: 'line one\nline two', region: 'us' },
      version: 2,
    });

    // Edit as JSON: invalid JSON is explained with its position, and nothing is sent until it parses.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByText('Starting from version 2.').waitFor();
    await page.getByRole('button', { name: 'JSON' }).click();
    const json = page.getByLabel('Secret as JSON');
    expect(JSON.parse(await json.inputValue())).toEqual({ token: 'line one\nline two', region: 'us' });
    const before = writes.length;
    await json.fill('{\n  "token": "t",\n  "region": "ap"\n  "extra": 1\n}');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByText(/Invalid JSON: .* at line 4, column 3/).count()).toBe(1);
    // Rows cannot take the broken JSON either: the toggle says why and stays on JSON.
    await page.getByRole('button', { name: 'Key/value rows' }).click();
    await page.getByText('The JSON cannot become rows').waitFor();
    expect(writes.length).toBe(before);
    await json.fill('{\n  "token": "t",\n  "region": "ap",\n  "extra": {"n": 1}\n}');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Version 3', { exact: true }).waitFor();
    expect(await readData('team-b/api')).toEqual({
      data: { token: 't', region: 'ap', extra: { n: 1 } },
      version: 3,
    });
    // Every write carried check-and-set on the version the editor started from (0: create only).
    expect(writes).toEqual([
      { path: '/v1/secret/data/team-b/api', cas: 0 },
      { path: '/v1/secret/data/team-b/api', cas: 1 },
      { path: '/v1/secret/data/team-b/api', cas: 2 },
    ]);
  });

  it('explains a CAS conflict in words, keeps the edit, compares, and saves over the newer version on request', async () => {
    const { page } = ui;
    await call('POST', 'secret/data/team-c/svc', { data: { mode: 'blue', level: '1' } });
    // Opened from an address (a link, a reload), the editor waits for a click before it reads every value.
    await page.goto(ui.url('/secrets/secret/team-c/svc?edit=1'));
    await page.getByRole('button', { name: 'Read the values and edit' }).waitFor();
    expect(await page.content()).not.toContain('blue');
    await page.getByRole('button', { name: 'Read the values and edit' }).click();
    await page.getByText('Starting from version 1.').waitFor();
    const mode = await rowOf(page, 'mode');
    await page.getByLabel(`Value ${mode}`).fill('green');
    // Someone else saves while the editor is open.
    await call('POST', 'secret/data/team-c/svc', { data: { mode: 'red', level: '2' } });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Someone saved version 2 while you edited (you started from version 1).').waitFor();
    // The edit is still there; nothing was overwritten.
    expect(await page.getByLabel(`Value ${mode}`).inputValue()).toBe('green');
    expect((await readData('team-c/svc')).data).toEqual({ mode: 'red', level: '2' });
    await page.getByRole('button', { name: 'Compare with version 2' }).click();
    const compare = page.getByRole('table', { name: 'Version 2 compared with your edit' });
    expect(await compare.getByRole('row', { name: /mode/ }).textContent()).toMatch(/red.*green.*changed/);
    expect(await compare.getByRole('row', { name: /level/ }).textContent()).toMatch(/2.*1.*changed/);
    await ui.screenshot('secrets-cas-conflict');
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Keep my edits and save over version 2' }).click();
    await page.getByText('Starting from version 2.').waitFor();
    expect(await page.getByLabel(`Value ${mode}`).inputValue()).toBe('green');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Version 3', { exact: true }).waitFor();
    expect(await readData('team-c/svc')).toEqual({ data: { mode: 'green', level: '1' }, version: 3 });

    // Delete names the version it deletes; the page then says the current version is deleted.
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete version 3 of secret/team-c/svc?' });
    await dialog.getByRole('button', { name: 'Delete version 3' }).click();
    await page.getByText('Version 3 is deleted').waitFor();
  });

  it('lets a token that may only list see the keys, and answers "Permission denied" with no value on reveal', async () => {
    await call('POST', 'sys/policies/acl/team-a-list', {
      policy: 'path "secret/metadata/team-a/*" { capabilities = ["list"] }',
    });
    await call('POST', 'sys/policies/acl/team-a-keys', {
      policy: [
        'path "secret/metadata/team-a/*" { capabilities = ["list"] }',
        'path "secret/subkeys/team-a/*" { capabilities = ["read"] }',
      ].join('\n'),
    });
    const listOnly = (await call('POST', 'auth/token/create', { policies: ['team-a-list'], ttl: '1h' }))!.auth!
      .client_token;
    const withKeys = (await call('POST', 'auth/token/create', { policies: ['team-a-keys'], ttl: '1h' }))!.auth!
      .client_token;
    const { page } = ui;
    const reads = watchDataReads(page);

    await signIn(listOnly);
    await page.goto(ui.url('/secrets'));
    // No read on sys/mounts: the mounts it can use (sys/internal/ui/mounts), said so; "go to path" is the way in.
    await page.getByText('Your token may not list every mount').waitFor();
    expect(await page.getByRole('table').getByRole('link').allTextContents()).toEqual(['secret/']);
    await page.getByLabel('Go to path').fill('secret/team-a/app/');
    await page.getByLabel('Go to path').press('Enter');
    await page.getByRole('heading', { name: 'secret/team-a/app/', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'db (secret)' }).click();
    await page.getByRole('heading', { name: 'secret/team-a/app/db', level: 1 }).waitFor();
    await page.getByText('Your token may not list this secret’s keys').waitFor();
    await page.getByRole('button', { name: 'Reveal all' }).click();
    // The read itself is refused: its own "Permission denied", naming data/, and still no value.
    await page.getByRole('alert').filter({ hasText: 'Your token may not read the values of' }).waitFor();
    expect(await page.getByRole('alert').filter({ hasText: 'secret/data/team-a/app/db' }).textContent()).toContain(
      'Permission denied',
    );
    await ui.screenshot('secrets-permission-denied');
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(await bodyText(page)).not.toContain(password);
    expect(await bodyText(page)).not.toContain(username);

    // With subkeys/ as well, the secret's keys are listed; a reveal is still refused and shows nothing.
    await signIn(withKeys);
    await page.goto(ui.url('/secrets/secret/team-a/app/db'));
    const row = page.getByRole('row', { name: /password/ });
    await row.getByRole('button', { name: 'Reveal' }).click();
    await page.getByText('Your token may not read the values of').waitFor();
    await row.getByRole('button', { name: 'Reveal' }).waitFor();
    expect(await bodyText(page)).not.toContain(password);
    expect(reads.length).toBe(2);
    // The session survives a 403 on a path (the token itself is fine).
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  it('shows the secret page in the dark theme', async () => {
    const { page } = ui;
    await signIn(ui.server.rootToken);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(ui.url('/secrets/secret/team-a/app/db'));
    await page
      .getByRole('row', { name: /password/ })
      .getByRole('button', { name: 'Reveal' })
      .click();
    await page.getByText(password).waitFor();
    expect(
      await page.evaluate<string>("getComputedStyle(document.documentElement).getPropertyValue('--bg').trim()"),
    ).toBe('#0f1115');
    await ui.screenshot('secrets-secret-dark');
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });
  });
});

/** Which editor row (1-based) holds `key`: the server keeps its own key order. */
async function rowOf(page: Page, key: string): Promise<number> {
  for (let i = 1; i <= 20; i++) {
    const input = page.getByLabel(`Key ${i}`, { exact: true });
    if ((await input.count()) === 0) break;
    if ((await input.inputValue()) === key) return i;
  }
  throw new Error(`no editor row with key ${key}`);
}
