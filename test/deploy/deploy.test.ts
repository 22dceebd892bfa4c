/**
 * Renders every kustomize base under deploy/ with `kubectl kustomize` and checks the objects: known kinds, required
 * fields, least-privilege RBAC (no `*`, Secrets only for the operator), structural CRDs; then applies them with
 * kubectl (validation on) to the Kubernetes API double, creates sample custom resources through the CRD schemas,
 * and uses kubectl's imperative commands and printer columns as the README's quickstart does.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { addonCrds } from '../support/kube-api/addons.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../support/kube-api/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const kubectl = await run('sh', ['-c', 'command -v kubectl']).then(
  (r) => r.stdout.trim(),
  () => '',
);
if (!kubectl) console.warn('kubectl is not installed: skipping the deploy/ rendering tests');

// Every kustomization under deploy/ (a test below checks that none is missing from this list).
const BASES = [
  'deploy',
  'deploy/crds',
  'deploy/rbac',
  'deploy/tls',
  'deploy/operator',
  'deploy/server',
  'deploy/server/base',
  'deploy/server/postgres',
  'deploy/csi',
  'deploy/kms',
];
const KNOWN = new Set([
  'v1/Namespace',
  'v1/ConfigMap',
  'v1/Pod',
  'apps/v1/DaemonSet',
  'cert-manager.io/v1/Certificate',
  'cert-manager.io/v1/Issuer',
  'v1/ServiceAccount',
  'v1/Service',
  'v1/PersistentVolumeClaim',
  'apps/v1/Deployment',
  'rbac.authorization.k8s.io/v1/ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
  'rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding',
  'apiextensions.k8s.io/v1/CustomResourceDefinition',
]);

/** The pod template of a workload, or a bare Pod's spec. */
function podSpecOf(o: Loose): Loose | undefined {
  if (o.kind === 'Pod') return o.spec;
  if (['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind)) return o.spec.template.spec;
  return undefined;
}

async function render(base: string): Promise<Loose[]> {
  const { stdout } = await run(kubectl, ['kustomize', join(ROOT, base)], { timeout: 60_000 });
  return parseAllDocuments(stdout).map((d) => d.toJS());
}

describe.skipIf(!kubectl)('deploy/ kustomize bases', () => {
  const rendered = new Map<string, Loose[]>();
  beforeAll(async () => {
    for (const base of BASES) rendered.set(base, await render(base));
  });

  it('render known kinds with names, namespaces and the fields each kind requires', () => {
    for (const [base, objects] of rendered) {
      expect(objects.length, base).toBeGreaterThan(0);
      for (const o of objects) {
        const id = `${base}: ${o.kind}/${o.metadata?.name}`;
        expect(KNOWN.has(`${o.apiVersion}/${o.kind}`), `${id} has a known apiVersion/kind`).toBe(true);
        expect(o.metadata?.name, id).toMatch(/^[a-z0-9:.-]+$/);
        const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(
          o.kind,
        );
        expect(Boolean(o.metadata.namespace), `${id} namespace`).toBe(!clusterScoped);
        const pod = podSpecOf(o);
        if (o.spec?.selector?.matchLabels) {
          const labels = o.spec.template.metadata.labels;
          for (const [k, v] of Object.entries(o.spec.selector.matchLabels))
            expect(labels[k], `${id} selector matches template`).toBe(v);
        }
        if (pod) {
          expect(pod.securityContext?.seccompProfile, `${id} seccomp`).toEqual({ type: 'RuntimeDefault' });
          const hostDirs = new Set(
            (pod.volumes ?? []).filter((v: Loose) => v.hostPath).map((v: Loose) => v.name as string),
          );
          for (const c of pod.containers) {
            expect(c.image, id).toMatch(/^ghcr\.io\/strongroom\/strongroom:/);
            expect(c.securityContext, id).toMatchObject({
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            });
            expect(c.resources?.requests, `${id} requests`).toBeDefined();
            const root = c.securityContext.runAsUser === 0;
            if (root) {
              // Root only to serve a socket in a root-owned host directory (CSI driver, kube-apiserver), and said so.
              expect(c.securityContext.runAsNonRoot, id).toBe(false);
              expect(['csi-provider', 'kms-plugin']).toContain(c.args[0]);
              const socketDir = /^--socket=(.*)\/[^/]+$/.exec(
                c.args.find((a: string) => a.startsWith('--socket=')),
              )![1];
              const mount = c.volumeMounts.find((m: Loose) => m.mountPath === socketDir);
              expect(hostDirs.has(mount?.name), `${id} socket directory is a hostPath`).toBe(true);
            } else {
              expect(pod.securityContext.runAsNonRoot, id).toBe(true);
              expect(pod.securityContext.runAsUser, id).toBe(65532);
            }
          }
        }
        if (o.kind === 'Service') expect(o.spec.ports.length, id).toBeGreaterThan(0);
      }
    }
  });

  it('lists every kustomization under deploy/', async () => {
    const { stdout } = await run('sh', ['-c', 'cd "$0" && find deploy -name kustomization.yaml', ROOT]);
    const found = stdout
      .trim()
      .split('\n')
      .map((f) => f.replace(/\/kustomization\.yaml$/, ''));
    expect(found.sort()).toEqual([...BASES].sort());
  });

  it('aggregates everything and references only service accounts and claims it defines', () => {
    const all = rendered.get('deploy')!;
    const has = (kind: string, name: string) => all.some((o) => o.kind === kind && o.metadata.name === name);
    for (const d of all.filter((o) => o.kind === 'Deployment')) {
      expect(has('ServiceAccount', d.spec.template.spec.serviceAccountName), d.metadata.name).toBe(true);
      for (const v of d.spec.template.spec.volumes ?? [])
        if (v.persistentVolumeClaim) expect(has('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)).toBe(true);
    }
    for (const b of all.filter((o) => o.kind.endsWith('Binding')))
      for (const s of b.subjects) expect(has('ServiceAccount', s.name)).toBe(true);
    expect(
      all
        .filter((o) => o.kind === 'CustomResourceDefinition')
        .map((o) => o.spec.names.kind)
        .sort(),
    ).toEqual(['ClusterExternalSecret', 'ClusterSecretStore', 'ExternalSecret', 'SecretStore', 'VaultDynamicSecret']);
    const operator = all.find((o) => o.kind === 'Deployment' && o.metadata.name === 'strongroom-operator');
    expect(operator.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(['operator', '--leader-elect']),
    );
  });

  it('keeps RBAC least-privilege: no wildcards, Secrets only for the operator, leases only by name', () => {
    const rules = rendered.get('deploy')!.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    expect(rules.length).toBeGreaterThan(0);
    for (const role of rules) {
      for (const rule of role.rules) {
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) {
          expect(rule[field] ?? [], `${role.metadata.name}.${field}`).not.toContain('*');
        }
        if (rule.resources.includes('secrets')) {
          expect(role.metadata.name).toBe('strongroom-operator');
          expect(rule.verbs).not.toContain('deletecollection');
        }
        if (rule.resources.includes('leases') && !rule.verbs.every((v: string) => v === 'create'))
          expect(rule.resourceNames).toEqual(['strongroom-operator']);
      }
    }
    // Exactly what secret rollouts need: restart (patch) the three workload kinds, read CronJobs and Pods.
    const operatorRole = rules.find((r) => r.kind === 'ClusterRole' && r.metadata.name === 'strongroom-operator');
    const verbsOn = (group: string, resource: string) =>
      operatorRole.rules
        .filter((r: Loose) => r.apiGroups.includes(group) && r.resources.includes(resource))
        .flatMap((r: Loose) => r.verbs)
        .sort();
    for (const kind of ['deployments', 'statefulsets', 'daemonsets'])
      expect(verbsOn('apps', kind), kind).toEqual(['get', 'list', 'patch', 'watch']);
    expect(verbsOn('batch', 'cronjobs')).toEqual(['list', 'watch']);
    expect(verbsOn('', 'pods')).toEqual(['list', 'watch']);
    expect(verbsOn('', 'secrets')).toContain('patch');
    expect(verbsOn('strongroom.io', 'externalsecrets/status')).toEqual(expect.arrayContaining(['patch', 'update']));
    expect(verbsOn('', 'events')).toEqual(['create', 'patch']);
    const postgres = rendered.get('deploy/server/postgres')!;
    const env = postgres.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({
      name: 'STRONGROOM_DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'strongroom-database', key: 'url' } },
    });
    expect(postgres.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
  });

  describe('applied with kubectl to the Kubernetes API double', () => {
    let api: KubeApiServer;
    let kubeconfig: string;
    let scratch: string;
    beforeAll(async () => {
      api = await createKubeApiServer();
      kubeconfig = await writeKubeconfig(api.url);
      scratch = dirname(kubeconfig);
    });
    afterAll(() => api?.close());
    // kubectl's own discovery and OpenAPI cache goes to the scratch directory, not ~/.kube.
    const k = async (...args: string[]) =>
      (
        await run(kubectl, ['--kubeconfig', kubeconfig, ...args], {
          timeout: 60_000,
          env: { ...process.env, KUBECACHEDIR: join(scratch, 'cache') },
        })
      ).stdout;
    const refused = (...args: string[]) =>
      k(...args).then(
        () => '',
        (err: { stderr?: string }) => err.stderr ?? 'failed',
      );
    const writeYaml = async (name: string, ...objects: Loose[]) => {
      const file = join(scratch, name);
      await writeFile(file, objects.map((o) => stringify(o)).join('---\n'));
      return file;
    };

    it('kubectl apply -k deploy/ succeeds with validation on, and every object is stored as written', async () => {
      const out = await k('apply', '-k', join(ROOT, 'deploy'));
      const all = rendered.get('deploy')!;
      for (const o of all)
        expect(out, `${o.kind}/${o.metadata.name}`).toMatch(new RegExp(`/${o.metadata.name} created`));
      for (const o of all) {
        const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
        const resource = api.registry.all().find((t) => t.kind === o.kind && t.group === group)!;
        const stored = api.get(
          `${resource.plural}${group ? `.${group}` : ''}`,
          o.metadata.namespace,
          o.metadata.name,
        ) as Loose;
        expect(stored, `${o.kind}/${o.metadata.name}`).toBeDefined();
        for (const field of ['rules', 'roleRef', 'subjects'])
          if (o[field] !== undefined) expect(stored[field], `${o.kind}/${o.metadata.name}.${field}`).toEqual(o[field]);
        if (o.kind === 'PersistentVolumeClaim') expect(stored.spec).toMatchObject(o.spec);
        expect(stored.metadata.labels ?? {}).toMatchObject(o.metadata.labels ?? {});
      }
      // kubectl reads them back (discovery lists the kinds), and a second apply changes nothing.
      expect(await k('get', 'clusterroles,clusterrolebindings', '-o', 'name')).toMatch(
        /clusterrole.rbac.authorization.k8s.io\/strongroom-operator/,
      );
      expect(await k('get', 'pvc', '-n', 'strongroom-system', '-o', 'name')).toMatch(/strongroom-data/);
      expect(await k('apply', '-k', join(ROOT, 'deploy'))).not.toMatch(/created|configured/);
      // The PostgreSQL variant applies on top (it replaces the server Deployment's storage).
      expect(await k('apply', '-k', join(ROOT, 'deploy/server/postgres'))).toMatch(
        /deployment.apps\/strongroom-server/,
      );
    });

    it("deploy/tls: cert-manager's kinds are stored as written, and kubectl get shows cert-manager's columns", async () => {
      await k('apply', '-k', join(ROOT, 'deploy/tls'));
      for (const o of rendered.get('deploy/tls')!) {
        const plural = o.kind === 'Certificate' ? 'certificates' : 'issuers';
        const stored = api.get(`${plural}.cert-manager.io`, o.metadata.namespace, o.metadata.name) as Loose;
        expect(stored.spec, `${o.kind}/${o.metadata.name}`).toEqual(o.spec);
      }
      const [header, ...rows] = (await k('get', 'certificates', '-n', 'strongroom-system')).trim().split('\n');
      expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'SECRET', 'AGE']);
      expect(rows.map((r) => r.split(/\s+/).slice(0, 2))).toEqual([
        ['strongroom-ca', 'strongroom-ca'],
        ['strongroom-server-tls', 'strongroom-server-tls'],
      ]);
    });

    it('a cluster without cert-manager refuses deploy/, naming the kinds it lacks (the documented prerequisite)', async () => {
      const bare = await createKubeApiServer({ addons: [] });
      try {
        const config = await writeKubeconfig(bare.url, { path: join(scratch, 'bare-kubeconfig') });
        const failed = await run(kubectl, ['--kubeconfig', config, 'apply', '-k', join(ROOT, 'deploy')], {
          timeout: 60_000,
          env: { ...process.env, KUBECACHEDIR: join(scratch, 'bare-cache') },
        }).then(
          () => '',
          (err: { stderr?: string }) => err.stderr ?? 'failed',
        );
        expect(failed).toMatch(/no matches for kind "Certificate" in version "cert-manager.io\/v1"/);
        expect(failed).toMatch(/no matches for kind "Issuer" in version "cert-manager.io\/v1"/);
      } finally {
        await bare.close();
      }
    });

    it("deploy/csi applies after the driver's CRD; the README's CA ConfigMap is the one the DaemonSet mounts; the sample SecretProviderClass is stored", async () => {
      // The Secrets Store CSI Driver's own install creates the SecretProviderClass CRD; play that part.
      await k('apply', '-f', await writeYaml('csi-driver-crds.yaml', ...addonCrds('secrets-store-csi-driver')));
      const out = await k('apply', '-k', join(ROOT, 'deploy/csi'));
      for (const o of rendered.get('deploy/csi')!) expect(out).toMatch(new RegExp(`/${o.metadata.name} created`));
      const ds = api.get('daemonsets.apps', 'strongroom-csi', 'strongroom-csi-provider') as Loose;
      expect(ds.spec.template.spec).toEqual(
        expect.objectContaining(rendered.get('deploy/csi')!.find((o) => o.kind === 'DaemonSet').spec.template.spec),
      );
      // The README's command, run as written, from a directory holding ca.crt.
      const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
      const command = /^kubectl -n strongroom-csi create configmap .*$/m.exec(readme)![0];
      await writeFile(join(scratch, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      await run('sh', ['-c', command], {
        cwd: scratch,
        timeout: 60_000,
        env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(scratch, 'cache') },
      });
      const volume = ds.spec.template.spec.volumes.find((v: Loose) => v.configMap);
      const configMap = api.get('configmaps', 'strongroom-csi', volume.configMap.name) as Loose;
      const provider = ds.spec.template.spec.containers[0];
      const caFile = (provider.args as string[]).find((a) => a.startsWith('--ca-cert='))!.slice('--ca-cert='.length);
      const mount = provider.volumeMounts.find((m: Loose) => m.name === volume.name);
      expect(Object.keys(configMap.data)).toEqual([caFile.slice(mount.mountPath.length + 1)]);

      await k('create', 'namespace', 'shop');
      await k('apply', '-f', join(ROOT, 'deploy/csi/secretproviderclass.yaml'));
      const spc = api.get('secretproviderclasses.secrets-store.csi.x-k8s.io', 'shop', 'shop-db') as Loose;
      expect(spc.spec).toMatchObject({
        provider: 'strongroom',
        parameters: { roleName: 'web', audience: 'strongroom' },
      });
    });

    it('deploy/kms applies: the static pod for review and the EncryptionConfiguration as a ConfigMap', async () => {
      const out = await k('apply', '-k', join(ROOT, 'deploy/kms'));
      expect(out).toMatch(/pod\/strongroom-kms-plugin created/);
      expect(out).toMatch(/configmap\/strongroom-encryption-config created/);
      const config = api.get('configmaps', 'kube-system', 'strongroom-encryption-config') as Loose;
      expect(config.data['encryption-config.yaml']).toMatch(
        /endpoint: unix:\/\/\/var\/run\/kmsplugin\/strongroom.sock/,
      );
      const pod = api.get('pods', 'kube-system', 'strongroom-kms-plugin') as Loose;
      expect(pod.spec.containers[0].args).toContain('--socket=/var/run/kmsplugin/strongroom.sock');
    });

    it('custom resources: schema defaults, strict field validation, and the CRD printer columns in kubectl get', async () => {
      await k('apply', '-k', join(ROOT, 'deploy/crds'));
      await k('create', 'namespace', 'payments');
      const sample = {
        apiVersion: 'strongroom.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'db', namespace: 'payments' },
        spec: {
          secretStoreRef: { name: 'strongroom' },
          data: [{ secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } }],
        },
      };
      await k('apply', '-f', await writeYaml('sample.yaml', sample));
      const es = api.get('externalsecrets.strongroom.io', 'payments', 'db') as Loose;
      expect(es.spec).toMatchObject({
        refreshInterval: '1h',
        secretStoreRef: { kind: 'SecretStore' },
        target: { creationPolicy: 'Owner', deletionPolicy: 'Retain' },
      });

      // A misspelt field is an error (kubectl asks for fieldValidation=Strict), not silently dropped.
      const typo = {
        ...sample,
        metadata: { name: 'typo', namespace: 'payments' },
        spec: { ...sample.spec, refreshIntervall: '1m' },
      };
      expect(await refused('apply', '-f', await writeYaml('typo.yaml', typo))).toMatch(
        /unknown field "spec.refreshIntervall"/,
      );
      expect(api.get('externalsecrets.strongroom.io', 'payments', 'typo')).toBeUndefined();
      // --validate=warn: stored without the field, and kubectl shows the server's warning.
      const warned = await run(
        kubectl,
        ['--kubeconfig', kubeconfig, 'apply', '--validate=warn', '-f', join(scratch, 'typo.yaml')],
        {
          timeout: 60_000,
          env: { ...process.env, KUBECACHEDIR: join(scratch, 'cache') },
        },
      );
      expect(warned.stderr).toMatch(/Warning: unknown field "spec.refreshIntervall"/);
      const stored = api.get('externalsecrets.strongroom.io', 'payments', 'typo') as Loose;
      expect(stored.spec.refreshInterval).toBe('1h');
      expect(stored.spec.refreshIntervall).toBeUndefined();

      const bad = {
        ...sample,
        metadata: { name: 'bad', namespace: 'payments' },
        spec: { secretStoreRef: { name: 's' }, refreshInterval: 'often', target: { creationPolicy: 'Sometimes' } },
      };
      const rejected = await refused('apply', '-f', await writeYaml('bad.yaml', bad));
      expect(rejected).toMatch(/refreshInterval/);
      expect(rejected).toMatch(/creationPolicy/);

      // The operator reports a synced version in status; kubectl get shows it under the CRD's columns.
      api.update(
        'externalsecrets.strongroom.io',
        {
          ...es,
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'SecretSynced',
                lastTransitionTime: es.metadata.creationTimestamp,
              },
            ],
            sync: { remoteVersion: '7' },
          },
        },
        { subresource: 'status' },
      );
      const table = await k('get', 'externalsecrets', '-n', 'payments');
      const [header, row] = table.trim().split('\n');
      expect(header!.split(/\s{2,}/)).toEqual([
        'NAME',
        'STORE',
        'REFRESH INTERVAL',
        'STATUS',
        'SYNCED VERSION',
        'READY',
        'AGE',
      ]);
      expect(row!.split(/\s{2,}/).slice(0, 6)).toEqual(['db', 'strongroom', '1h', 'SecretSynced', '7', 'True']);
    });

    it("kubectl's imperative create commands (sent as protobuf) store what was asked", async () => {
      await k('create', 'namespace', 'imperative');
      expect((api.get('namespaces', undefined, 'imperative') as Loose).metadata.labels).toMatchObject({
        'kubernetes.io/metadata.name': 'imperative',
      });
      const password = 'pw-' + Math.random().toString(36).slice(2);
      await k(
        'create',
        'secret',
        'generic',
        'db',
        '-n',
        'imperative',
        `--from-literal=password=${password}`,
        '--from-literal=username=app',
      );
      const secret = api.get('secrets', 'imperative', 'db') as Loose;
      expect(secret.type).toBe('Opaque');
      expect(Buffer.from(secret.data.password, 'base64').toString()).toBe(password);
      expect(Buffer.from(secret.data.username, 'base64').toString()).toBe('app');
      await k(
        'create',
        'secret',
        'generic',
        'tls-ish',
        '-n',
        'imperative',
        '--type=example.com/thing',
        '--from-literal=a=b',
      );
      expect((api.get('secrets', 'imperative', 'tls-ish') as Loose).type).toBe('example.com/thing');
      await k('create', 'configmap', 'settings', '-n', 'imperative', '--from-literal=mode=fast');
      expect((api.get('configmaps', 'imperative', 'settings') as Loose).data).toEqual({ mode: 'fast' });
      await k('create', 'serviceaccount', 'payments-sync', '-n', 'imperative');
      expect(api.get('serviceaccounts', 'imperative', 'payments-sync')).toBeDefined();
    });
  });
});
