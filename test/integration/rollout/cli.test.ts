/**
 * `strongroom consumers` and `strongroom rollout …` against the API double, steering the rollouts a real
 * `strongroom operator` process runs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTART_ANNOTATION } from '../../../src/kubernetes/consumers/references.js';
import { versionAnnotation } from '../../../src/kubernetes/rollout/hash.js';
import {
  deployment,
  envUse,
  eventually,
  externalSecret,
  rolloutOf,
  startBed,
  type Bed,
  type Loose,
} from './support.js';

const BIN = fileURLToPath(new URL('../../../bin/strongroom', import.meta.url));
let bed: Bed;
beforeAll(async () => {
  bed = await startBed();
}, 60_000);
afterAll(() => bed?.close());

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--kubeconfig', bed.kubeconfigPath],
      { env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
const json = async (...args: string[]) => {
  const r = await cli(...args, '-o', 'json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Loose;
};
const template = (namespace: string, name: string) =>
  (bed.api.get('deployments', namespace, name) as Loose).spec.template;
const password = (namespace: string, name: string) =>
  Buffer.from((bed.api.get('secrets', namespace, name) as Loose).data.password, 'base64').toString();
const phase = (namespace: string, name: string, want: string) => () =>
  rolloutOf(bed, namespace, name)?.phase === want ? rolloutOf(bed, namespace, name) : undefined;

describe('strongroom consumers', () => {
  it('lists every way a Secret is used, what a change means, and the version each runs', async () => {
    bed.namespace('uses');
    const c = (extra: Loose) => ({ containers: [{ name: 'app', image: 'a:1', ...extra.container }], ...extra.pod });
    bed.api.create('deployments', deployment('uses', 'env', envUse('shop')));
    bed.api.create(
      'statefulsets',
      deployment(
        'uses',
        'init',
        {
          initContainers: [{ name: 'setup', image: 'i:1', envFrom: [{ secretRef: { name: 'shop' } }] }],
          containers: [{ name: 'app', image: 'a:1' }],
        },
        { kind: 'StatefulSet' },
      ),
    );
    bed.api.create(
      'daemonsets',
      deployment(
        'uses',
        'files',
        c({
          container: { volumeMounts: [{ name: 's', mountPath: '/s' }] },
          pod: { volumes: [{ name: 's', secret: { secretName: 'shop' } }] },
        }),
        { kind: 'DaemonSet' },
      ),
    );
    const optIn = deployment(
      'uses',
      'projected',
      c({
        container: { volumeMounts: [{ name: 'p', mountPath: '/p' }] },
        pod: { volumes: [{ name: 'p', projected: { sources: [{ secret: { name: 'shop' } }] } }] },
      }),
    );
    optIn.metadata.annotations = { [RESTART_ANNOTATION]: 'true' };
    bed.api.create('deployments', optIn);
    bed.api.create(
      'deployments',
      deployment(
        'uses',
        'subpath',
        c({
          container: { volumeMounts: [{ name: 's', mountPath: '/etc/app.conf', subPath: 'conf' }] },
          pod: { volumes: [{ name: 's', secret: { secretName: 'shop' } }] },
        }),
      ),
    );
    bed.api.create('deployments', deployment('uses', 'puller', c({ pod: { imagePullSecrets: [{ name: 'shop' }] } })));
    bed.api.create('deployments', deployment('uses', 'unrelated', envUse('other')));
    bed.api.create('cronjobs', {
      metadata: { name: 'nightly', namespace: 'uses' },
      spec: {
        schedule: '0 0 * * *',
        jobTemplate: { spec: { template: { spec: { ...envUse('shop'), restartPolicy: 'Never' } } } },
      },
    });
    bed.api.create('pods', { metadata: { name: 'debug', namespace: 'uses' }, spec: envUse('shop') });
    bed.api.create('externalsecrets', externalSecret('uses', 'shop', 'uses-shop'));
    await bed.put('uses-shop', { password: 'p1' });
    await bed.sync('uses', 'shop');
    await eventually(phase('uses', 'shop', 'Succeeded'), 'first rollout', 20_000);

    const out = await json('consumers', 'uses/shop');
    expect(out).toMatchObject({ namespace: 'uses', secret: 'shop', version: '1', exists: true });
    const by = Object.fromEntries(out.consumers.map((x: Loose) => [`${x.kind}/${x.name}`, x]));
    expect(Object.keys(by).sort()).toEqual([
      'CronJob/nightly',
      'DaemonSet/files',
      'Deployment/env',
      'Deployment/projected',
      'Deployment/puller',
      'Deployment/subpath',
      'Pod/debug',
      'StatefulSet/init',
    ]);
    expect(by['Deployment/env']).toMatchObject({
      effect: 'restart',
      restartable: true,
      version: '1',
      uses: ['env PASSWORD=password in app'],
    });
    expect(by['StatefulSet/init']).toMatchObject({
      effect: 'restart',
      version: '1',
      uses: ['envFrom in init container setup'],
    });
    expect(by['DaemonSet/files']).toMatchObject({
      effect: 'refresh',
      restartable: false,
      version: '1',
      uses: ['volume s in app'],
    });
    expect(by['Deployment/projected']).toMatchObject({
      effect: 'restart',
      version: '1',
      uses: ['projected volume p in app'],
    });
    expect(by['Deployment/subpath']).toMatchObject({
      effect: 'restart',
      version: '1',
      uses: ['volume s (subPath) in app'],
    });
    expect(by['Deployment/puller']).toMatchObject({ effect: 'none', version: null, uses: ['imagePullSecret'] });
    expect(by['CronJob/nightly']).toMatchObject({ effect: 'restart', restartable: false, version: null });
    expect(by['Pod/debug']).toMatchObject({ effect: 'restart', restartable: false });
    // The volume consumer was not restarted; the DaemonSet's template carries no version of ours.
    expect((bed.api.get('daemonsets', 'uses', 'files') as Loose).metadata.generation).toBe(1);

    const table = await cli('consumers', 'uses/shop');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('subpath');
    expect(table.stdout).toContain('refresh: volume s is refreshed in place by the kubelet');
    const yaml = await cli('consumers', 'uses/shop', '-o', 'yaml');
    expect(yaml.stdout).toContain('secret: shop');
    const none = await cli('consumers', 'uses/nothing');
    expect(none.stdout).toContain('No workload in namespace uses uses Secret nothing.');
    const bad = await cli('consumers', 'no-slash');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^Error: "no-slash" is not <namespace>\/<secret>/);
  }, 120_000);
});

describe('strongroom rollout', () => {
  it('pause, resume, abort, retry and undo steer the controller', async () => {
    const ns = 'steer';
    bed.namespace(ns);
    bed.api.create('deployments', deployment(ns, 'canary', envUse('cfg'), { labels: { tier: 'canary' } }));
    bed.api.create('deployments', deployment(ns, 'main', envUse('cfg')));
    const policy = {
      strategy: 'Progressive',
      waves: [{ name: 'canary', selector: { matchLabels: { tier: 'canary' } } }],
      healthTimeout: '20s',
      pauseBetweenWaves: '0',
    };
    bed.api.create('externalsecrets', externalSecret(ns, 'cfg', 'steer-cfg', policy));
    const ref = `${ns}/cfg`;
    expect((await cli('rollout', 'status', ref)).stdout).toContain('No rollout recorded');

    // pause before the first change: nothing restarts until resume.
    expect((await json('rollout', 'pause', ref)).requested).toBe('pause');
    await bed.put('steer-cfg', { password: 'v1' });
    await bed.sync(ns, 'cfg');
    const paused = await eventually(phase(ns, 'cfg', 'Paused'), 'paused');
    expect(paused.workloads.map((w: Loose) => w.state)).toEqual(['Pending', 'Pending']);
    expect(template(ns, 'canary').metadata.annotations?.[versionAnnotation('cfg')]).toBeUndefined();
    expect((await json('rollout', 'status', ref)).phase).toBe('Paused');
    await json('rollout', 'resume', ref);
    await eventually(phase(ns, 'cfg', 'Succeeded'), 'resumed');
    expect(template(ns, 'main').metadata.annotations[versionAnnotation('cfg')]).toBe('1');

    // abort mid-rollout (canary done, waiting between waves): Secret and canary go back, main is untouched.
    const es = bed.api.get('externalsecrets', ns, 'cfg') as Loose;
    bed.api.update('externalsecrets', { ...es, spec: { ...es.spec, rollout: { ...policy, pauseBetweenWaves: '1h' } } });
    await bed.put('steer-cfg', { password: 'v2' });
    await bed.sync(ns, 'cfg');
    await eventually(
      () => rolloutOf(bed, ns, 'cfg')?.targetVersion === '2' && rolloutOf(bed, ns, 'cfg')?.nextWaveAt,
      'between waves',
    );
    expect(template(ns, 'canary').metadata.annotations[versionAnnotation('cfg')]).toBe('2');
    const mainBefore = template(ns, 'main');
    await json('rollout', 'abort', ref);
    const aborted = await eventually(phase(ns, 'cfg', 'Aborted'), 'aborted');
    expect(aborted).toMatchObject({ reason: 'Aborted', blockedVersion: '2', previousVersion: '1' });
    expect(password(ns, 'cfg')).toBe('v1');
    expect(template(ns, 'canary').metadata.annotations[versionAnnotation('cfg')]).toBe('1');
    expect(template(ns, 'main')).toEqual(mainBefore);
    const table = await cli('rollout', 'status', ref);
    expect(table.stdout).toMatch(/Phase\s*│\s*Aborted/);
    expect((await cli('rollout', 'abort', ref)).code).toBe(1);

    // retry rolls version 2 out again, read back from the store.
    const again = bed.api.get('externalsecrets', ns, 'cfg') as Loose;
    bed.api.update('externalsecrets', { ...again, spec: { ...again.spec, rollout: policy } });
    await json('rollout', 'retry', ref);
    const retried = await eventually(
      () =>
        rolloutOf(bed, ns, 'cfg')?.trigger === 'Retry' && rolloutOf(bed, ns, 'cfg')?.phase === 'Succeeded'
          ? rolloutOf(bed, ns, 'cfg')
          : undefined,
      'retried',
    );
    expect(retried.targetVersion).toBe('2');
    expect(retried.blockedVersion).toBeUndefined();
    expect(password(ns, 'cfg')).toBe('v2');
    expect(template(ns, 'main').metadata.annotations[versionAnnotation('cfg')]).toBe('2');

    // undo to version 1 on purpose: held until the store has something newer than 2.
    await json('rollout', 'undo', '--to-version', '1', ref);
    const undone = await eventually(
      () =>
        rolloutOf(bed, ns, 'cfg')?.trigger === 'Undo' && rolloutOf(bed, ns, 'cfg')?.phase === 'Succeeded'
          ? rolloutOf(bed, ns, 'cfg')
          : undefined,
      'undone',
    );
    expect(undone).toMatchObject({ targetVersion: '1', previousVersion: '2', blockedVersion: '2' });
    expect(password(ns, 'cfg')).toBe('v1');
    expect(undone.workloads.map((w: Loose) => `${w.name}:${w.version}`)).toEqual(['canary:1', 'main:1']);
    const consumers = await json('consumers', `${ns}/cfg`);
    expect(consumers.consumers.map((c: Loose) => c.version)).toEqual(['1', '1']);

    const usage = await cli('rollout', 'undo', ref);
    expect(usage.code).toBe(2);
    const missing = await cli('rollout', 'status', `${ns}/nope`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ExternalSecret steer/nope not found');
  }, 180_000);
});
