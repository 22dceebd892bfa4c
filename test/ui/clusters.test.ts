import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, openConsole, type ConsoleSession } from '../support/browser.js';
import { eventually } from '../support/eventually.js';

/*
 * The Clusters view against a real server: an operator's summary published over HTTP (as `strongroom operator
 * --cluster-name` does; the operator itself is exercised in test/integration/rollout/clusters.test.ts), shown per
 * secret with its clusters, workloads, versions and rollout waves; pause and undo queue controls whose outcome the
 * page shows once the "operator" acknowledges them.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const SUMMARY = {
  publish_interval_seconds: 15,
  operator: { identity: 'operator-7d9f', version: '0.1.0' },
  external_secrets: [
    {
      namespace: 'shop',
      name: 'db',
      store: { kind: 'SecretStore', name: 'strongroom', provider: 'vault' },
      paths: [{ mount: 'secret', key: 'shop/db', property: 'password' }],
      synced_version: '4',
      target_secret: 'db',
      ready: true,
      consumers: [
        { kind: 'Deployment', name: 'checkout', effect: 'restart', version: '4' },
        { kind: 'StatefulSet', name: 'ledger', effect: 'restart', version: '3' },
      ],
      rollout: {
        phase: 'Progressing',
        trigger: 'Sync',
        target_version: '4',
        previous_version: '3',
        strategy: 'Progressive',
        current_wave: 1,
        waves: [
          { name: 'canary', workloads: [{ kind: 'Deployment', name: 'checkout', state: 'Healthy', version: '4' }] },
          { name: 'remaining', workloads: [{ kind: 'StatefulSet', name: 'ledger', state: 'Restarting' }] },
        ],
      },
    },
    {
      namespace: 'shop',
      name: 'api-keys',
      paths: [{ mount: 'secret', key: 'shop/api' }],
      synced_version: '2',
      consumers: [],
      rollout: { phase: 'Succeeded', target_version: '2', previous_version: '1', waves: [] },
    },
  ],
};

describe('web console: clusters', () => {
  let ui: ConsoleSession;
  const call = async (method: string, path: string, body?: unknown, token = ui.server.rootToken) => {
    const res = await fetch(`${ui.server.url}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Loose) : undefined };
  };
  const publish = (extra: Record<string, unknown> = {}) =>
    call('PUT', 'sys/clusters/prod-eu', { ...SUMMARY, ...extra });

  beforeAll(async () => {
    ui = await openConsole();
  });
  afterAll(async () => {
    await ui?.close();
  });

  it('says how to connect an operator while no cluster has reported', async () => {
    await ui.signInWithToken();
    await ui.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();
    await ui.page.getByText('No cluster has reported yet.').waitFor();
    await expect(ui.page.getByText('--cluster-name').count()).resolves.toBe(1);
  });

  it('shows a published summary per secret; pause and undo reach the operator and show its answer', async () => {
    expect((await publish()).status).toBe(200);
    const page = ui.page;
    await page.reload();
    await ui.signInWithToken();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();

    const clusters = page.getByRole('table', { name: 'Clusters' });
    await clusters.getByRole('cell', { name: 'prod-eu' }).waitFor();
    await expect(clusters.getByRole('row').nth(1).textContent()).resolves.toMatch(/operator-7d9f \(0\.1\.0\)/);

    const db = page.getByRole('region', { name: 'Secret secret/shop/db' });
    await expect(db.getByRole('link', { name: 'secret/shop/db' }).getAttribute('href')).resolves.toBe(
      '/ui/secrets/secret/shop/db',
    );
    const row = await db.getByRole('row').nth(1).textContent();
    expect(row).toContain('shop/db');
    expect(row).toContain('Deployment checkout v4');
    expect(row).toContain('StatefulSet ledger v3');
    expect(row).toContain('Progressing');
    expect(row).toContain('version 3 → 4');
    const waves = await db.getByRole('list', { name: 'Waves' }).getByRole('listitem').allTextContents();
    expect(waves).toEqual(['canary: Deployment checkout Healthy (v4)', 'remaining: StatefulSet ledger Restarting']);
    await page.getByRole('region', { name: 'Secret secret/shop/api' }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await ui.screenshot('clusters');

    // Pause: queued for the operator, then shown as applied once it acknowledges with its next publish.
    await db.getByRole('button', { name: 'Pause shop/db on prod-eu' }).click();
    await db.getByText('pause: waiting for the operator').waitFor();
    const queued = await eventually(async () => {
      const listed = await call('GET', 'sys/clusters/prod-eu/controls');
      return (listed.body.data.controls as Loose[]).find((c) => c.action === 'pause');
    }, 'pause queued');
    expect(queued).toMatchObject({ namespace: 'shop', external_secret: 'db', state: 'queued', requested_by: 'root' });
    const delivered = await publish();
    expect(delivered.body.data.controls.map((c: Loose) => c.id)).toEqual([queued.id]);
    const paused = structuredClone(SUMMARY);
    paused.external_secrets[0]!.rollout!.phase = 'Paused';
    (paused.external_secrets[0]!.rollout as Loose).paused = true;
    await call('PUT', 'sys/clusters/prod-eu', { ...paused, acknowledged: [{ id: queued.id, state: 'applied' }] });
    await db.getByText('pause: applied by the operator').waitFor();
    await db.getByRole('button', { name: 'Resume shop/db on prod-eu' }).waitFor();
    await page.emulateMedia({ colorScheme: 'dark' });
    await ui.screenshot('clusters-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Undo (on the finished rollout): asks for the version, and the confirmation names it.
    const api = page.getByRole('region', { name: 'Secret secret/shop/api' });
    await api.getByRole('button', { name: 'Undo shop/api-keys on prod-eu' }).click();
    const dialog = page.getByRole('dialog', { name: 'Undo shop/api-keys on prod-eu' });
    await dialog.getByLabel('Version to roll out').fill('1');
    await dialog.getByRole('button', { name: 'Roll out version 1' }).waitFor();
    await ui.screenshot('clusters-undo');
    await dialog.getByRole('button', { name: 'Roll out version 1' }).click();
    await api.getByText('undo to 1: waiting for the operator').waitFor();
    const undo = (await call('GET', 'sys/clusters/prod-eu/controls')).body.data.controls.find(
      (c: Loose) => c.action === 'undo',
    );
    expect(undo).toMatchObject({ external_secret: 'api-keys', to_version: '1', state: 'queued' });
    await call('PUT', 'sys/clusters/prod-eu', {
      ...paused,
      acknowledged: [{ id: undo.id, state: 'rejected', message: 'a rollout is in progress (phase Progressing)' }],
    });
    await api.getByText('a rollout is in progress (phase Progressing)').waitFor();
    // No page error and no CSP refusal (the empty LIST's 404 in the first test is Vault's way of saying "none").
    const problems = ui.consoleMessages.filter((m) => m.startsWith('pageerror') || /Refused|Content Security/.test(m));
    expect(problems).toEqual([]);
  });

  it('a viewer who may read clusters but not their controls sees the summary without buttons', async () => {
    await call('PUT', 'sys/policies/acl/clusters-viewer', {
      policy: 'path "sys/clusters" { capabilities = ["list"] }\npath "sys/clusters/+" { capabilities = ["read"] }',
    });
    const token = (await call('POST', 'auth/token/create', { policies: ['clusters-viewer'] })).body.auth.client_token;
    const page = ui.page;
    await page.reload();
    await ui.signInWithToken(token);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();
    const db = page.getByRole('region', { name: 'Secret secret/shop/db' });
    await db.getByText('StatefulSet').first().waitFor();
    await expect(db.getByRole('button').count()).resolves.toBe(0);
  });
});
