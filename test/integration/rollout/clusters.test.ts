/**
 * The Clusters view's back end, end to end: a real `strongroom operator` process publishes its summary to a real
 * server (sys/clusters/<name>) with a token that may publish only that cluster, and applies a pause and a resume
 * that a person queued through sys/clusters/<name>/controls, exactly as `strongroom rollout pause|resume` would.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionAnnotation } from '../../../src/kubernetes/rollout/hash.js';
import { PAUSE_ANNOTATION } from '../../../src/kubernetes/rollout/types.js';
import {
  deployment,
  envUse,
  eventually,
  externalSecret,
  readEs,
  rolloutOf,
  startBed,
  startOperatorProcess,
  type Bed,
  type Loose,
} from './support.js';

let bed: Bed;
let operatorToken: string;
let viewerToken: string;
let controllerToken: string;

async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${bed.store.url}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Loose) : undefined };
}

async function tokenWith(name: string, hcl: string): Promise<string> {
  const root = bed.store.rootToken;
  expect((await call('PUT', `sys/policies/acl/${name}`, root, { policy: hcl })).status).toBe(204);
  const created = await call('POST', 'auth/token/create', root, { policies: [name], display_name: name });
  return created.body.auth.client_token as string;
}

beforeAll(async () => {
  bed = await startBed();
  // The README's policies: the operator publishes its own cluster; a viewer reads; a controller also steers.
  operatorToken = await tokenWith('operator-it', 'path "sys/clusters/it" { capabilities = ["update"] }');
  viewerToken = await tokenWith('viewer', 'path "sys/clusters/*" { capabilities = ["read", "list"] }');
  controllerToken = await tokenWith(
    'rollout-controller',
    'path "sys/clusters/*" { capabilities = ["read", "list"] }\npath "sys/clusters/+/controls" { capabilities = ["read", "update"] }',
  );
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'publish-token-')), 'token');
  writeFileSync(tokenFile, `${operatorToken}\n`, { mode: 0o600 });
  // The bed's operator does not publish: replace it with one that does.
  await bed.operator.stop();
  bed.operator = await startOperatorProcess(bed.kubeconfigPath, [
    '--cluster-name=it',
    `--publish-address=${bed.store.url}`,
    `--publish-token-file=${tokenFile}`,
    '--publish-interval=1s',
  ]);
}, 90_000);
afterAll(() => bed?.close());

const summaryOf = async () => {
  const read = await call('GET', 'sys/clusters/it', viewerToken);
  return read.status === 200 ? (read.body.data as Loose) : undefined;
};
const esIn = (summary: Loose, namespace: string, name: string) =>
  summary?.external_secrets?.find((es: Loose) => es.namespace === namespace && es.name === name);
const phase = (namespace: string, name: string, want: string) => () =>
  rolloutOf(bed, namespace, name)?.phase === want ? rolloutOf(bed, namespace, name) : undefined;

async function control(body: Record<string, unknown>): Promise<string> {
  const queued = await call('POST', 'sys/clusters/it/controls', controllerToken, body);
  expect(queued.status).toBe(200);
  expect(queued.body.data.state).toBe('queued');
  return queued.body.data.id as string;
}
const stateOf = (id: string) => async () => {
  const listed = await call('GET', 'sys/clusters/it/controls', controllerToken);
  const found = (listed.body.data.controls as Loose[]).find((c) => c.id === id);
  return found && found.state !== 'queued' ? found : undefined;
};

describe('cluster summaries and console controls', () => {
  it('publishes ExternalSecrets, consumers and rollouts; a queued pause and resume steer the rollout', async () => {
    const ns = 'pub';
    bed.namespace(ns);
    bed.api.create('deployments', deployment(ns, 'canary', envUse('cfg'), { labels: { tier: 'canary' } }));
    bed.api.create('deployments', deployment(ns, 'main', envUse('cfg')));
    bed.api.create(
      'externalsecrets',
      externalSecret(ns, 'cfg', 'pub-cfg', {
        strategy: 'Progressive',
        waves: [{ name: 'canary', selector: { matchLabels: { tier: 'canary' } } }],
        healthTimeout: '20s',
      }),
    );
    await bed.put('pub-cfg', { password: 'first-value' });
    await bed.sync(ns, 'cfg');
    await eventually(phase(ns, 'cfg', 'Succeeded'), 'first rollout');

    // The summary names the store path, the version synced, who uses it at which version, and the rollout's waves.
    const first = await eventually(async () => {
      const es = esIn(await summaryOf(), ns, 'cfg');
      return es?.rollout?.phase === 'Succeeded' && es.consumers.length === 2 ? es : undefined;
    }, 'summary with the first rollout');
    expect(first).toMatchObject({
      store: { kind: 'SecretStore', name: 'strongroom', provider: 'vault', server: bed.store.url },
      paths: [{ mount: 'secret', key: 'pub-cfg', property: 'password' }],
      synced_version: '1',
      target_secret: 'cfg',
      ready: true,
    });
    expect(first.consumers).toEqual([
      { kind: 'Deployment', name: 'canary', effect: 'restart', version: '1' },
      { kind: 'Deployment', name: 'main', effect: 'restart', version: '1' },
    ]);
    expect(
      first.rollout.waves.map((w: Loose) => [w.name, w.workloads.map((x: Loose) => `${x.name}:${x.state}`)]),
    ).toEqual([
      ['canary', ['canary:Healthy']],
      ['remaining', ['main:Healthy']],
    ]);
    const record = await summaryOf();
    expect(record).toMatchObject({
      name: 'it',
      stale: false,
      publish_interval_seconds: 1,
      reported_by: 'token-operator-it',
    });

    // A person pauses from the console: the operator sets the CLI's annotation and acknowledges it.
    const pause = await control({ namespace: ns, external_secret: 'cfg', action: 'pause' });
    expect(await eventually(stateOf(pause), 'pause acknowledged')).toMatchObject({ state: 'applied' });
    expect(readEs(bed, ns, 'cfg').metadata.annotations[PAUSE_ANNOTATION]).toBe('true');

    await bed.put('pub-cfg', { password: 'second-value' });
    await bed.sync(ns, 'cfg');
    const paused = await eventually(phase(ns, 'cfg', 'Paused'), 'paused before the first wave');
    expect(paused.workloads.map((w: Loose) => w.state)).toEqual(['Pending', 'Pending']);
    const shownPaused = await eventually(async () => {
      const es = esIn(await summaryOf(), ns, 'cfg');
      return es?.rollout?.phase === 'Paused' ? es : undefined;
    }, 'the summary shows the pause');
    expect(shownPaused.paused).toBe(true);
    expect(shownPaused.rollout).toMatchObject({ paused: true, target_version: '2', previous_version: '1' });

    const resume = await control({ namespace: ns, external_secret: 'cfg', action: 'resume' });
    expect(await eventually(stateOf(resume), 'resume acknowledged')).toMatchObject({ state: 'applied' });
    await eventually(phase(ns, 'cfg', 'Succeeded'), 'resumed rollout');
    const after = await eventually(async () => {
      const es = esIn(await summaryOf(), ns, 'cfg');
      return es?.consumers.every((c: Loose) => c.version === '2') && es.rollout.phase === 'Succeeded' ? es : undefined;
    }, 'the summary shows version 2 everywhere');
    expect(after.paused).toBeUndefined();
    expect(after.rollout.paused).toBeUndefined();
    expect(
      (bed.api.get('deployments', ns, 'main') as Loose).spec.template.metadata.annotations[versionAnnotation('cfg')],
    ).toBe('2');

    // A control the rollout cannot take is rejected with the CLI's reason, not applied.
    const abort = await control({ namespace: ns, external_secret: 'cfg', action: 'abort' });
    expect(await eventually(stateOf(abort), 'abort refused')).toMatchObject({
      state: 'rejected',
      message: 'there is no rollout in progress to abort (phase Succeeded)',
    });

    // Everything went through the audited API; no value and no token reached the operator's log or the audit log.
    const audit = readFileSync(bed.auditPath, 'utf8');
    const entries = audit
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Loose);
    expect(entries.some((e) => e.type === 'request' && e.request.path === 'sys/clusters/it/controls')).toBe(true);
    expect(entries.some((e) => e.type === 'request' && e.request.path === 'sys/clusters/it')).toBe(true);
    for (const text of [audit, bed.operator.output()]) {
      expect(text).not.toContain('second-value');
      expect(text).not.toContain(operatorToken);
    }
    expect(bed.operator.output()).toContain('published the cluster summary as cluster it');
  }, 120_000);
});
