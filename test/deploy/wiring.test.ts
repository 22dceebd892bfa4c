/**
 * deploy/ fits together: the one store address every manifest and document uses names a Service that the rendered
 * output defines, on a port that reaches the server's TLS listener; the server's certificate comes from the
 * cert-manager chain in deploy/tls and names that address; every client of the store trusts that chain's CA and
 * nothing but the server can read the server's key; what a container writes is on a volume.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STORE = 'https://strongroom.strongroom-system.svc:8200';
const kubectl = await run('sh', ['-c', 'command -v kubectl']).then(
  (r) => r.stdout.trim(),
  () => '',
);

async function render(base: string): Promise<Loose[]> {
  const { stdout } = await run(kubectl, ['kustomize', join(ROOT, base)], { timeout: 60_000 });
  return parseAllDocuments(stdout).map((d) => d.toJS());
}

function filesUnder(dir: string, suffix: RegExp): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(`${dir}/${e.name}`, suffix) : suffix.test(e.name) ? [`${dir}/${e.name}`] : [],
  );
}

/** URLs whose host is the store's (any name starting with "strongroom"), in a text. */
function storeAddresses(text: string): string[] {
  return [...text.matchAll(/https?:\/\/strongroom[^\s'"`)\]},]*/g)].map((m) => m[0].replace(/[.:]$/, ''));
}

interface Container {
  owner: string;
  pod: Loose;
  container: Loose;
}

function containersOf(objects: Loose[]): Container[] {
  return objects.flatMap((o) => {
    const pod = o.kind === 'Pod' ? o.spec : o.spec?.template?.spec;
    if (!pod?.containers) return [];
    return pod.containers.map((container: Loose) => ({ owner: `${o.kind}/${o.metadata.name}`, pod, container }));
  });
}

const flag = (c: Loose, name: string): string | undefined =>
  c.args?.find((a: string) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const envValue = (c: Loose, name: string): string | undefined => c.env?.find((e: Loose) => e.name === name)?.value;

/** The volume mounted where `file` lives, and the name the file has inside it. */
function volumeFor({ pod, container }: Container, file: string): { volume: Loose; mount: Loose; key: string } {
  const mount = container.volumeMounts?.find((m: Loose) => file.startsWith(`${m.mountPath}/`));
  expect(mount, `${file} is on a volume`).toBeDefined();
  const volume = pod.volumes.find((v: Loose) => v.name === mount.name);
  return { volume, mount, key: file.slice(mount.mountPath.length + 1) };
}

describe.skipIf(!kubectl)('deploy/ wiring: addresses, TLS and volumes', () => {
  let cluster: Loose[];
  let kms: Loose[];
  let csi: Loose[];
  let postgres: Loose[];
  beforeAll(async () => {
    [cluster, csi, kms, postgres] = (await Promise.all(
      ['deploy', 'deploy/csi', 'deploy/kms', 'deploy/server/postgres'].map(render),
    )) as [Loose[], Loose[], Loose[], Loose[]];
  });
  const find = (objects: Loose[], kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('uses one store address in every manifest and every document, and it is TLS', () => {
    const texts: [string, string][] = [
      ...[...cluster, ...csi, ...kms, ...postgres].map((o): [string, string] => [
        `${o.kind}/${o.metadata.name}`,
        JSON.stringify(o),
      ]),
      ...[...filesUnder('deploy', /\.(ya?ml|md)$/), ...filesUnder('examples', /\.ya?ml$/), 'README.md'].map(
        (f): [string, string] => [f, readFileSync(join(ROOT, f), 'utf8')],
      ),
    ];
    const seen = new Map<string, string[]>();
    for (const [where, text] of texts)
      for (const address of storeAddresses(text)) seen.set(address, [...(seen.get(address) ?? []), where]);
    expect(Object.fromEntries(seen)).toEqual({ [STORE]: expect.any(Array) });
    // The operator publishes to it, the CSI provider and the KMS plugin call it, the README shows it.
    const users = seen.get(STORE)!;
    for (const where of [
      'Deployment/strongroom-operator',
      'DaemonSet/strongroom-csi-provider',
      'Pod/strongroom-kms-plugin',
      'README.md',
    ])
      expect(users).toContain(where);
    const clients = containersOf([...cluster, ...csi, ...kms]).filter(
      ({ container }) => flag(container, 'address') ?? flag(container, 'publish-address'),
    );
    expect(clients.map((c) => c.owner).sort()).toEqual([
      'DaemonSet/strongroom-csi-provider',
      'Deployment/strongroom-operator',
      'Pod/strongroom-kms-plugin',
    ]);
    for (const { container } of clients)
      expect(flag(container, 'address') ?? flag(container, 'publish-address')).toBe(STORE);
  });

  it("the address names a Service of deploy/ whose port reaches the server's TLS listener", () => {
    const url = new URL(STORE);
    const [name, namespace, svc] = url.hostname.split('.');
    expect(svc).toBe('svc');
    const service = find(cluster, 'Service', name!);
    expect(service?.metadata.namespace).toBe(namespace);
    const port = service.spec.ports.find((p: Loose) => p.port === Number(url.port));
    expect(port, `Service ${name} has port ${url.port}`).toBeDefined();
    for (const objects of [cluster, postgres]) {
      const selected = objects.filter(
        (o) =>
          o.kind === 'Deployment' &&
          o.metadata.namespace === namespace &&
          Object.entries(service.spec.selector).every(([k, v]) => o.spec.template.metadata.labels[k] === v),
      );
      expect(selected.map((d) => d.metadata.name)).toEqual(['strongroom-server']);
      const server = selected[0].spec.template.spec.containers[0];
      const containerPort = server.ports.find((p: Loose) => p.name === port.targetPort);
      expect(containerPort.containerPort).toBe(Number(flag(server, 'listen')!.split(':')[1]));
      expect(flag(server, 'tls-cert-file')).toBeDefined();
      expect(flag(server, 'tls-key-file')).toBeDefined();
      for (const probe of [server.readinessProbe, server.livenessProbe])
        expect(probe.httpGet).toMatchObject({ port: port.targetPort, scheme: 'HTTPS' });
    }
  });

  it('the server certificate comes from the cert-manager CA chain of deploy/tls and names the address', () => {
    const server = containersOf(cluster).find((c) => c.owner === 'Deployment/strongroom-server')!;
    const cert = volumeFor(server, flag(server.container, 'tls-cert-file')!);
    const key = volumeFor(server, flag(server.container, 'tls-key-file')!);
    expect([cert.key, key.key]).toEqual(['tls.crt', 'tls.key']);
    expect(key.volume.secret.secretName).toBe(cert.volume.secret.secretName);
    const secretName = cert.volume.secret.secretName;
    const certificate = cluster.find((o) => o.kind === 'Certificate' && o.spec.secretName === secretName);
    expect(certificate?.metadata.namespace).toBe('strongroom-system');
    expect(certificate.spec.dnsNames).toEqual(
      expect.arrayContaining([
        new URL(STORE).hostname,
        'strongroom',
        'strongroom.strongroom-system',
        'strongroom.strongroom-system.svc.cluster.local',
      ]),
    );
    expect(certificate.spec.usages).toContain('server auth');
    expect(certificate.spec.isCA ?? false).toBe(false);
    // server certificate <- CA Issuer <- CA certificate (isCA) <- self-signed Issuer, all in one namespace.
    const caIssuer = find(cluster, 'Issuer', certificate.spec.issuerRef.name);
    expect(certificate.spec.issuerRef).toMatchObject({ group: 'cert-manager.io', kind: 'Issuer' });
    const caCertificate = cluster.find(
      (o) => o.kind === 'Certificate' && o.spec.secretName === caIssuer.spec.ca.secretName,
    );
    expect(caCertificate.spec.isCA).toBe(true);
    const root = find(cluster, 'Issuer', caCertificate.spec.issuerRef.name);
    expect(root.spec).toEqual({ selfSigned: {} });
    for (const o of [caIssuer, caCertificate, root]) expect(o.metadata.namespace).toBe(certificate.metadata.namespace);
  });

  it("every client trusts the CA for its store connections only; only the server mounts the server's key; nobody mounts the CA's key", () => {
    const serverSecret = find(cluster, 'Certificate', 'strongroom-server-tls').spec.secretName;
    const caSecret = find(cluster, 'Certificate', 'strongroom-ca').spec.secretName;
    const all = containersOf([...cluster, ...csi, ...kms, ...postgres]);
    for (const c of all) {
      const { container, owner } = c;
      // Never process-wide: NODE_EXTRA_CA_CERTS would trust the CA for the Kubernetes API and cloud providers too.
      expect(envValue(container, 'NODE_EXTRA_CA_CERTS'), `${owner} trusts the CA process-wide`).toBeUndefined();
      const address = flag(container, 'address') ?? flag(container, 'publish-address');
      if (address) {
        // Vault's -ca-cert convention: the CA for the store connection only.
        const caFile = flag(container, 'ca-cert');
        expect(caFile, `${owner} trusts the CA`).toMatch(/\/ca\.crt$/);
        const { volume, key } = volumeFor(c, caFile!);
        if (volume.secret) {
          // Only ca.crt is projected from the server's Secret.
          expect(volume.secret.secretName).toBe(serverSecret);
          expect(volume.secret.items).toEqual([{ key: 'ca.crt', path: key }]);
        } else if (volume.configMap) {
          expect(volume.configMap.name, owner).toBe('strongroom-ca'); // created by the README's command
        } else {
          expect(volume.hostPath, `${owner}: a static pod reads the CA from the node`).toBeDefined();
        }
        const publishCa = flag(container, 'publish-ca-file');
        if (flag(container, 'publish-address')) expect(publishCa).toBe(caFile);
      }
      for (const mount of container.volumeMounts ?? []) {
        const volume = c.pod.volumes.find((v: Loose) => v.name === mount.name);
        expect(volume.secret?.secretName, `${owner} mounts the CA key`).not.toBe(caSecret);
        if (volume.secret?.secretName === serverSecret && owner !== 'Deployment/strongroom-server')
          expect(
            volume.secret.items?.map((i: Loose) => i.key),
            `${owner} reads only ca.crt`,
          ).toEqual(['ca.crt']);
      }
    }
  });

  it('a read-only root filesystem: everything a container writes is on a writable volume', () => {
    for (const c of containersOf([...cluster, ...csi, ...kms, ...postgres])) {
      const { container, owner } = c;
      expect(container.securityContext.readOnlyRootFilesystem, owner).toBe(true);
      const writes = [flag(container, 'data-dir'), flag(container, 'socket') && dirname(flag(container, 'socket')!)];
      if (container.args[0] === 'server') writes.push('/tmp');
      for (const path of writes.filter((p): p is string => Boolean(p))) {
        const mount = container.volumeMounts.find((m: Loose) => m.mountPath === path);
        expect(mount, `${owner} writes ${path} on a volume`).toBeDefined();
        expect(mount.readOnly ?? false, `${owner} ${path}`).toBe(false);
      }
    }
  });
});
