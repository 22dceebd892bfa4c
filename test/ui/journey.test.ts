import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, type ConsoleSession } from '../support/browser.js';

/*
 * The scenario as one person would live it, entirely in the console: sign in, create a secret, edit it
 * twice, open its timeline, diff versions 1 and 3, roll back to 1 and see version 4 equal to version 1, reveal a value
 * and find that read in the audit explorer. The other browser tests go deep on each view; this one checks they fit.
 */
describe('web console: a secret from creation to rollback and its audit trail', () => {
  let ui: ConsoleSession;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${ui.server.url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': ui.server.rootToken, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Vault's envelopes, read field by field below
    return res.status === 204 ? undefined : ((await res.json()) as { data: Record<string, any> });
  };

  beforeAll(async () => {
    ui = await openConsole();
    // The explorer and the writers of each version read the database audit device.
    await api('PUT', 'sys/audit/database', { type: 'database' });
  });
  afterAll(async () => {
    await ui?.close();
  });

  it('creates, edits twice, diffs 1 and 3, rolls back to 1, and finds the reveal in the audit explorer', async () => {
    const { page } = ui;
    await ui.signInWithToken();
    await nav(page, 'Secrets');
    await page.getByRole('link', { name: 'secret/' }).first().click();
    await page.getByRole('button', { name: 'New secret' }).click();
    await page.getByLabel('Path', { exact: true }).fill('journey/db');
    await page.getByLabel('Key 1').fill('password');
    await page.getByLabel('Value 1').fill('first-Pw-1');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Version 1', { exact: true }).waitFor();

    for (const [n, value] of [
      [2, 'second-Pw-2'],
      [3, 'third-Pw-3'],
    ] as const) {
      await page.getByRole('button', { name: 'Edit' }).click();
      await page.getByText(`Starting from version ${n - 1}.`).waitFor();
      await page.getByLabel('Value 1').fill(value);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText(`Version ${n}`, { exact: true }).waitFor();
    }

    await page.getByRole('tab', { name: 'History' }).click();
    const timeline = page.getByRole('list', { name: 'Versions of secret/journey/db, newest first' });
    await expect.poll(() => timeline.getByRole('listitem').count()).toBe(3);
    await page.getByLabel('Version A').selectOption('1');
    const diff = page.getByRole('table', { name: 'Keys that differ between version 1 and version 3' });
    await diff.waitFor();
    expect(await diff.getByRole('rowheader').allTextContents()).toEqual(['password']);
    expect(await page.content()).not.toContain('first-Pw-1');

    await versionItem(page, 1).getByRole('button', { name: 'Roll back to version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back secret/journey/db to version 1?' });
    await dialog.getByRole('button', { name: 'Roll back to version 1' }).click();
    await expect.poll(() => timeline.getByRole('listitem').count()).toBe(4);
    const current = (await api('GET', 'secret/data/journey/db'))!.data;
    expect(current.metadata.version).toBe(4);
    expect(current.data).toEqual({ password: 'first-Pw-1' });

    // Reveal version 4's value: one audited read, found by the auditor's view.
    await page.getByRole('tab', { name: 'Data' }).click();
    await page.getByRole('heading', { name: 'Data (version 4)' }).waitFor();
    const revealedAt = Date.now();
    await page.getByRole('button', { name: 'Reveal' }).first().click();
    await page.getByText('first-Pw-1').waitFor();

    await nav(page, 'Audit');
    await page.getByLabel('Path', { exact: true }).fill('secret/data/journey/db');
    await page.getByLabel('Operation', { exact: true }).selectOption('read');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByRole('table', { name: /Requests matching the filters/ }).getByRole('row');
    await expect.poll(() => rows.filter({ hasText: 'secret/data/journey/db' }).count()).toBeGreaterThan(0);
    const newest = rows.filter({ hasText: 'secret/data/journey/db' }).first();
    const text = (await newest.textContent()) ?? '';
    expect(text).toContain('root');
    expect(text).toContain('127.0.0.1');
    // The entry is the reveal: a read at the time of the click (the table shows minutes, so compare by the query).
    const entries = (await api('GET', 'sys/audit/query?path=secret/data/journey/db&operation=read&type=response'))!.data
      .entries as Array<{ time: string }>;
    expect(entries.some((e) => Date.parse(e.time) >= revealedAt - 1000)).toBe(true);
    expect(await page.content()).not.toContain('first-Pw-1');
  });
});

async function nav(page: Page, view: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: view }).click();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

function versionItem(page: Page, n: number) {
  return page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: `Version ${n}`, exact: true }) });
}
