import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, openConsole, type ConsoleSession } from '../support/browser.js';

/*
 * Every main view, reached through the main navigation, signed in as root, in the light and the dark theme, checked by axe-core against WCAG 2.1 A and
 * AA (contrast included). A view that is still loading is checked once it settled (no "Loading…" left).
 */
const VIEWS = ['Secrets', 'Policies', 'Audit', 'Access', 'Clusters'];

describe.each(['light', 'dark'] as const)('web console accessibility (%s theme)', (colorScheme) => {
  let ui: ConsoleSession;
  beforeAll(async () => {
    ui = await openConsole({ colorScheme });
  });
  afterAll(async () => {
    await ui?.close();
  });

  it('the login page has no WCAG A/AA violation', async () => {
    await ui.page.goto(ui.url('/login'));
    await ui.page.getByRole('heading', { level: 1 }).waitFor();
    expect(await accessibilityViolations(ui.page)).toEqual([]);
  });

  it('no main view has a WCAG A/AA violation', async () => {
    await ui.signInWithToken();
    for (const view of VIEWS) {
      // In-app navigation: the session lives in memory, so a page load would sign out.
      await ui.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: view }).click();
      await ui.page.getByRole('heading', { level: 1 }).first().waitFor();
      await expect.poll(() => ui.page.getByRole('status').filter({ hasText: 'Loading' }).count()).toBe(0);
      const violations = await accessibilityViolations(ui.page);
      expect({ view, violations }).toEqual({ view, violations: [] });
    }
  });
});
