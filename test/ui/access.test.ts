import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../integration/server/client.js';
import type { Page } from 'playwright-core';
import { accessibilityViolations, openConsole, type ConsoleSession } from '../support/browser.js';
import { pgAdminQuery, pgDropRoles } from '../support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../support/postgres.js';
import { enableAuthMethods } from '../support/server-process.js';

/*
 * The Access view against a real server: auth methods and their roles, a token looked up and revoked by accessor,
 * a real lease (a PostgreSQL user from the database engine) looked up, renewed and revoked, and a token without
 * rights that sees "Permission denied" and no data.
 */
describe('web console: access', () => {
  let ui: ConsoleSession;
  /** A screenshot of the page as it is, which must also pass axe-core's WCAG 2.1 A/AA rules. */
  const capture = async (name: string) => {
    await ui.screenshot(name);
    expect({ name, violations: await accessibilityViolations(ui.page) }).toEqual({ name, violations: [] });
  };
  const root = async (method: string, path: string, body?: unknown) => {
    const res = await api(ui.server.url, method, path, {
      token: ui.server.rootToken,
      ...(body !== undefined ? { body } : {}),
    });
    expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
    return res;
  };
  const createToken = async (policies: string[], displayName = 'console-test') =>
    (await root('POST', 'auth/token/create', { policies, ttl: '1h', display_name: displayName })).body.auth as {
      client_token: string;
      accessor: string;
    };
  /** Moves within the console as a link does: a page load would drop the in-memory session (on purpose). */
  const go = (page: Page, path: string) =>
    page.evaluate(
      `window.history.pushState(null, '', ${JSON.stringify(`/ui${path}`)}); window.dispatchEvent(new PopStateEvent('popstate'))`,
    );

  beforeAll(async () => {
    ui = await openConsole();
    await enableAuthMethods(ui.server, 'approle', 'userpass');
    await root('POST', 'sys/auth/people', { type: 'userpass', description: 'Staff accounts' });
    await root('POST', 'auth/approle/role/ci', { token_policies: ['ci-deploy'], token_ttl: '20m' });
    await root('POST', 'auth/approle/role/nightly', { token_policies: ['ci-report'] });
    await root('POST', 'auth/people/users/erin', { password: 'erin-password-1', token_policies: 'staff' });
    await ui.signInWithToken();
  }, 60_000);
  afterAll(async () => {
    await ui?.close();
  });

  it('lists the auth methods as sys/auth does, with the roles and users of each and a role’s detail', async () => {
    const { page } = ui;
    await go(page, '/access');
    await page.getByRole('heading', { name: 'Access', level: 1 }).waitFor();
    const mounts = (await root('GET', 'sys/auth')).body.data as Record<string, { type: string; accessor: string }>;
    const table = page.getByRole('table', { name: 'Enabled auth methods' });
    for (const path of ['approle/', 'people/', 'token/', 'userpass/']) {
      const row = table.getByRole('row').filter({ hasText: path });
      await expect.poll(() => row.count()).toBe(1);
      const cells = await row.getByRole('cell').allTextContents();
      expect(cells.slice(0, 3)).toEqual([path, mounts[path]!.type, mounts[path]!.accessor]);
    }
    expect(await table.getByRole('row').filter({ hasText: 'people/' }).textContent()).toContain('Staff accounts');

    await page.getByRole('button', { name: 'Show roles of approle/' }).click();
    const roles = page.getByRole('list', { name: 'Roles of approle/' });
    await expect.poll(() => roles.getByRole('listitem').allTextContents()).toEqual(['ci', 'nightly']);
    await roles.getByRole('button', { name: 'ci' }).click();
    const config = page.getByLabel('Configuration of ci');
    await expect.poll(() => config.textContent()).toContain('token_policiesci-deploy');
    expect(await config.textContent()).toContain('token_ttl1200');
    await capture('access-auth-methods');

    await page.getByRole('button', { name: 'Show users of people/' }).click();
    await expect
      .poll(() => page.getByRole('list', { name: 'Users of people/' }).getByRole('listitem').allTextContents())
      .toEqual(['erin']);
    // A password never comes back from a user's read: nothing like it on the page.
    await page.getByRole('button', { name: 'erin' }).click();
    await expect.poll(() => page.getByLabel('Configuration of erin').textContent()).toContain('token_policiesstaff');
    expect(await page.content()).not.toContain('erin-password-1');
  });

  it('looks a token up by accessor, revokes it after a confirmation naming it, and it is gone', async () => {
    const { page } = ui;
    const victim = await createToken(['ci-deploy'], 'build-bot');
    await go(page, '/access?tab=tokens');
    // The session's own token, looked up by the server.
    const own = page.getByLabel('Details of your token', { exact: true });
    await expect.poll(() => own.textContent()).toContain('root');
    // The accessor list (sudo) holds the victim; "Look up" fills the form and shows it.
    await page.getByRole('button', { name: `Look up ${victim.accessor}` }).click();
    expect(await page.getByLabel('Accessor', { exact: true }).inputValue()).toBe(victim.accessor);
    const detail = page.getByLabel(`Token with accessor ${victim.accessor}`, { exact: true });
    await expect.poll(() => detail.textContent()).toContain('token-build-bot');
    expect(await detail.textContent()).toContain('ci-deploy');
    // The token itself is never shown: only its accessor.
    expect(await page.content()).not.toContain(victim.client_token);
    await capture('access-tokens');

    await page.getByRole('button', { name: 'Revoke token…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this token?' });
    expect(await dialog.textContent()).toContain(victim.accessor);
    await capture('access-revoke-token-dialog');
    // Escape cancels: the token still works.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await api(ui.server.url, 'GET', 'auth/token/lookup-self', { token: victim.client_token })).status).toBe(
      200,
    );
    await page.getByRole('button', { name: 'Revoke token…' }).click();
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Revoked the token with accessor ${victim.accessor}` })
      .waitFor();
    expect((await api(ui.server.url, 'GET', 'auth/token/lookup-self', { token: victim.client_token })).status).toBe(
      403,
    );
    await expect.poll(() => page.getByRole('button', { name: `Look up ${victim.accessor}` }).count()).toBe(0);
    // Looking it up again says so.
    await page.getByLabel('Accessor', { exact: true }).fill(victim.accessor);
    await page.getByRole('button', { name: 'Look up', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/invalid accessor/i);
  });

  it('a token without rights sees "Permission denied" and no data on auth methods, accessors and leases', async () => {
    const weak = await createToken(['default'], 'weak');
    const other = await ui.newPage();
    const url = ui.url;
    await other.goto(url('/login'));
    await other.getByLabel('Token', { exact: true }).fill(weak.client_token);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('navigation', { name: 'Main' }).waitFor();

    await go(other, '/access');
    await other.getByRole('alert').filter({ hasText: 'Permission denied' }).waitFor();
    expect(await other.getByRole('alert').textContent()).toContain('sys/auth');
    expect(await other.getByRole('table').count()).toBe(0);

    await other.getByRole('tab', { name: 'Tokens' }).click();
    await other.getByRole('alert').filter({ hasText: 'Permission denied' }).waitFor();
    expect(await other.getByRole('alert').textContent()).toContain('auth/token/accessors');
    expect(await other.getByRole('table').count()).toBe(0);
    expect(await other.getByRole('button', { name: /^Look up / }).count()).toBe(0);
    // Its own token is its to see (the default policy grants lookup-self): still signed in, shown as "weak".
    await expect
      .poll(() => other.getByLabel('Details of your token', { exact: true }).textContent())
      .toContain('default');

    await other.getByRole('tab', { name: 'Leases' }).click();
    await other.getByRole('alert').filter({ hasText: 'Permission denied' }).waitFor();
    expect(await other.getByRole('alert').textContent()).toContain('sys/leases/lookup/');
    expect(await other.getByRole('list', { name: 'Lease prefixes' }).count()).toBe(0);
    await other.context().close();
  });

  describe.skipIf(postgresSkipReason !== undefined)('leases of dynamic credentials (PostgreSQL)', () => {
    const tag = randomBytes(3).toString('hex');
    const admin = `sr_ui_root_${tag}`;
    const adminPassword = `Root-${randomBytes(8).toString('hex')}`;
    const roleExists = async (name: string) =>
      (await pgAdminQuery('select 1 from pg_roles where rolname = $1', [name])).length > 0;

    beforeAll(async () => {
      await pgAdminQuery(`CREATE ROLE "${admin}" WITH LOGIN SUPERUSER PASSWORD '${adminPassword}'`);
      await root('POST', 'sys/mounts/database', { type: 'database' });
      await root('POST', 'database/config/pg', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: `postgresql://{{username}}:{{password}}@${new URL(postgresAdminUrl!).host}/postgres`,
        username: admin,
        password: adminPassword,
        allowed_roles: 'app',
        username_template: `{{ printf "v-ui${tag}-%s" (random 8) }}`,
      });
      await root('POST', 'database/roles/app', {
        db_name: 'pg',
        creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';`,
        default_ttl: 300,
        max_ttl: 3600,
      });
    }, 60_000);
    afterAll(async () => {
      await pgDropRoles({ like: `v-ui${tag}-%`, roles: [admin] });
    });

    it('browses to a lease, looks it up, renews it by an increment and revokes it (the user is dropped)', async () => {
      const { page } = ui;
      const creds = (await root('GET', 'database/creds/app')).body as {
        lease_id: string;
        data: { username: string; password: string };
      };
      expect(await roleExists(creds.data.username)).toBe(true);
      const id = creds.lease_id.split('/').pop()!;

      await go(page, '/access?tab=leases');
      for (const prefix of ['database/', 'creds/', 'app/']) {
        await page.getByRole('button', { name: prefix, exact: true }).click();
      }
      await page.getByRole('button', { name: `Look up lease ${creds.lease_id}` }).click();
      expect(await page.getByLabel('Lease ID', { exact: true }).inputValue()).toBe(creds.lease_id);
      const detail = page.getByLabel(`Lease ${creds.lease_id}`, { exact: true });
      await expect.poll(() => detail.textContent()).toContain(id);
      expect(await detail.textContent()).toContain('Last renewednever');
      expect(await detail.textContent()).toContain('Renewableyes');
      // The credential's password is not part of a lease and never appears.
      expect(await page.content()).not.toContain(creds.data.password);
      await capture('access-leases');

      await page.getByLabel('Increment').fill('1200');
      await page.getByRole('button', { name: 'Renew lease' }).click();
      await page.getByRole('status').filter({ hasText: 'Renewed the lease: 20m left' }).waitFor();
      const renewed = await root('POST', 'sys/leases/lookup', { lease_id: creds.lease_id });
      expect(renewed.body.data.last_renewal).not.toBeNull();
      expect(renewed.body.data.ttl).toBeGreaterThan(300);
      await expect.poll(() => detail.textContent()).not.toContain('Last renewednever');

      await page.getByRole('button', { name: 'Revoke lease…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke this lease?' });
      expect(await dialog.textContent()).toContain(creds.lease_id);
      await dialog.getByRole('button', { name: 'Revoke lease' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Revoked the lease ${creds.lease_id}` })
        .waitFor();
      const gone = await api(ui.server.url, 'POST', 'sys/leases/lookup', {
        token: ui.server.rootToken,
        body: { lease_id: creds.lease_id },
      });
      expect(gone.status).toBe(400);
      expect(await roleExists(creds.data.username)).toBe(false);
      // The browser lists what is left under the prefix: not the revoked lease.
      await expect.poll(() => page.getByRole('button', { name: `Look up lease ${creds.lease_id}` }).count()).toBe(0);
    });
  });

  it('looks right in the dark theme', async () => {
    const { page } = ui;
    await page.emulateMedia({ colorScheme: 'dark' });
    // Earlier tests' notices would cover the page.
    // (In one go: a notice may fade on its own between finding and clicking it.)
    await page.evaluate("document.querySelectorAll('.toast-close').forEach((b) => b.click())");
    await expect.poll(() => page.getByRole('button', { name: 'Dismiss' }).count()).toBe(0);
    await go(page, '/access?tab=tokens');
    await expect.poll(() => page.getByLabel('Details of your token', { exact: true }).textContent()).toContain('root');
    await capture('access-tokens-dark');
    await go(page, '/access');
    await page.getByRole('table', { name: 'Enabled auth methods' }).waitFor();
    await capture('access-auth-methods-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
