/**
 * Renders every kustomize base under deploy/ with `kubectl kustomize` and checks the objects: known kinds, required
 * fields, least-privilege RBAC (no `*`, Secrets only for the operator), structural CRDs; then applies what the
 * Kubernetes API double serves (CRDs, namespaces, service accounts, workloads, services) with kubectl, and creates
 * sample custom resources through the CRD schemas.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
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

const BASES = ['deploy', 'deploy/crds', 'deploy/rbac', 'deploy/operator', 'deploy/server', 'deploy/server/postgres'];
const KNOWN = new Set([
  'v1/Namespace',
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
        if (o.kind === 'Deployment') {
          const labels = o.spec.template.metadata.labels;
          for (const [k, v] of Object.entries(o.spec.selector.matchLabels))
            expect(labels[k], `${id} selector matches template`).toBe(v);
          for (const c of o.spec.template.spec.containers) {
            expect(c.image, id).toMatch(/^ghcr\.io\/strongroom\/strongroom:/);
            expect(c.securityContext).toMatchObject({
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            });
            expect(c.resources?.requests, `${id} requests`).toBeDefined();
          }
          expect(o.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
        }
        if (o.kind === 'Service') expect(o.spec.ports.length, id).toBeGreaterThan(0);
      }
    }
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
    beforeAll(async () => {
      api = await createKubeApiServer();
      kubeconfig = await writeKubeconfig(api.url);
    });
    afterAll(() => api?.close());
    const k = async (...args: string[]) =>
      (await run(kubectl, ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000 })).stdout;

    it('creates the objects the double serves, and the CRDs accept valid resources and reject invalid ones', async () => {
      // The double does not serve RBAC or PVCs; those were validated statically above.
      const servable = rendered
        .get('deploy')!
        .filter((o) => !o.apiVersion.startsWith('rbac.') && o.kind !== 'PersistentVolumeClaim');
      const file = join(dirname(kubeconfig), 'deploy.yaml');
      await writeFile(file, servable.map((o) => stringify(o)).join('---\n'));
      const out = await k('apply', '--validate=false', '-f', file);
      expect(out).toMatch(/customresourcedefinition.apiextensions.k8s.io\/externalsecrets.strongroom.io created/);
      expect(out).toMatch(/deployment.apps\/strongroom-operator created/);
      expect(api.get('deployments.apps', 'strongroom-system', 'strongroom-server')).toBeDefined();

      const sample = join(dirname(kubeconfig), 'sample.yaml');
      await writeFile(
        sample,
        stringify({
          apiVersion: 'strongroom.io/v1',
          kind: 'ExternalSecret',
          metadata: { name: 'db', namespace: 'strongroom-system' },
          spec: {
            secretStoreRef: { name: 'strongroom' },
            data: [{ secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } }],
          },
        }),
      );
      await k('apply', '--validate=false', '-f', sample);
      const es = api.get('externalsecrets.strongroom.io', 'strongroom-system', 'db') as Loose;
      expect(es.spec).toMatchObject({
        refreshInterval: '1h',
        secretStoreRef: { kind: 'SecretStore' },
        target: { creationPolicy: 'Owner', deletionPolicy: 'Retain' },
      });

      await writeFile(
        sample,
        stringify({
          apiVersion: 'strongroom.io/v1',
          kind: 'ExternalSecret',
          metadata: { name: 'bad', namespace: 'strongroom-system' },
          spec: { secretStoreRef: { name: 's' }, refreshInterval: 'often', target: { creationPolicy: 'Sometimes' } },
        }),
      );
      const rejected = await k('apply', '--validate=false', '-f', sample).then(
        () => '',
        (err: { stderr?: string }) => err.stderr ?? 'failed',
      );
      expect(rejected).toMatch(/refreshInterval/);
      expect(rejected).toMatch(/creationPolicy/);
    });
  });
});
