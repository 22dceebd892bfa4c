/**
 * What `strongroom consumers` does (src/cli/consumers.ts declares the command). Loaded only when it runs. For a
 * Secret of generated credentials it also shows the lease each workload's credential lives on, and its expiry.
 */
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../kubernetes/api/common.js';
import { discoverConsumers } from '../kubernetes/consumers/discover.js';
import type { Consumer, SecretUse } from '../kubernetes/consumers/types.js';
import { SOURCE_VERSION_ANNOTATION } from '../kubernetes/rollout/record.js';
import { versionRun } from '../kubernetes/consumers/version.js';
import type { CredentialsStatus } from '../kubernetes/api/credentials.js';
import { leasesOfVersion } from '../kubernetes/generators/rollout-view.js';
import type { Context } from './command.js';
import { kubeError, loadKubeConfig } from './kube-client.js';
import { parseObjectRef } from './kube-flags.js';
import { emit, gridTable } from './output.js';

function describeUse(u: SecretUse): string {
  const where = u.container ? ` in ${u.initContainer ? 'init container ' : ''}${u.container}` : '';
  switch (u.via) {
    case 'env':
      return `env ${u.envVar}=${u.key}${where}`;
    case 'envFrom':
      return `envFrom${where}`;
    case 'volume':
    case 'projectedVolume':
      return `${u.via === 'volume' ? 'volume' : 'projected volume'} ${u.volume}${u.subPath ? ' (subPath)' : ''}${where}`;
    default:
      return 'imagePullSecret';
  }
}

export async function listConsumers(ctx: Context, arg: unknown): Promise<void> {
  const ref = parseObjectRef(String(arg), 'secret');
  const kc = loadKubeConfig(ctx.opts);
  let consumers: Consumer[];
  let secret;
  try {
    consumers = await discoverConsumers(kc, ref.namespace, ref.name);
    secret = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret(ref)
      .catch((err: { code?: number }) => {
        if (err.code === 404) return undefined;
        throw err;
      });
  } catch (err) {
    throw kubeError(err, `namespace ${ref.namespace}`);
  }
  let current = secret?.metadata?.annotations?.[SOURCE_VERSION_ANNOTATION];
  const owner = secret?.metadata?.ownerReferences?.find((o) => o.kind === 'ExternalSecret');
  // The owner's status: the version synced (when the Secret does not say) and, for generated credentials, leases.
  const es = owner
    ? ((await kc
        .makeApiClient(CustomObjectsApi)
        .getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: 'externalsecrets',
          namespace: ref.namespace,
          name: owner.name,
        })
        .catch(() => undefined)) as
        { status?: { sync?: { remoteVersion?: string }; credentials?: CredentialsStatus } } | undefined)
    : undefined;
  current ??= es?.status?.sync?.remoteVersion;
  const credentials = es?.status?.credentials;
  const rows = consumers.map((c) => {
    const version = versionRun(c, c.templateAnnotations, ref.name, current) ?? null;
    const leases = leasesOfVersion(credentials, version ?? undefined);
    return {
      kind: c.kind,
      name: c.name,
      uses: c.uses.map(describeUse),
      effect: c.effect,
      reason: c.reason,
      restartable: c.restartable,
      version,
      /** Generated credentials only: the lease(s) of the generation this workload runs, and when each ends. */
      leases: credentials ? leases : null,
    };
  });
  const leaseCell = (r: (typeof rows)[number]) =>
    r.leases?.length ? r.leases.map((l) => `${l.leaseId || '(no lease)'}\nexpires ${l.expireTime}`).join('\n') : '-';
  emit(
    ctx.format,
    {
      namespace: ref.namespace,
      secret: ref.name,
      version: current ?? null,
      exists: secret !== undefined,
      consumers: rows,
    },
    () =>
      rows.length
        ? gridTable(
            ['Kind', 'Name', 'Uses', 'On change', 'Version', ...(credentials ? ['Lease'] : [])],
            rows.map((r) => [
              r.kind,
              r.name,
              r.uses.join('\n'),
              `${r.effect}: ${r.reason}`,
              r.version ?? 'unknown',
              ...(credentials ? [leaseCell(r)] : []),
            ]),
          )
        : `No workload in namespace ${ref.namespace} uses Secret ${ref.name}.`,
  );
}
