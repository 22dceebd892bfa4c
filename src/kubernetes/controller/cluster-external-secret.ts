/** Reconciles a ClusterExternalSecret: one ExternalSecret per matching namespace; stale ones are removed. */
import type { CustomObjectsApi, V1Namespace } from '@kubernetes/client-node';
import { z } from 'zod';
import { API_VERSION, GROUP, VERSION, parseDuration } from '../api/common.js';
import {
  parseClusterExternalSecretSpec,
  type ClusterExternalSecret,
  type ClusterExternalSecretStatus,
} from '../api/cluster-external-secret.js';
import type { ExternalSecret } from '../api/external-secret.js';
import { setCondition } from './conditions.js';
import type { EventRecorder } from './events.js';
import { matchesSelector } from './selectors.js';

export const CES_LABEL = 'strongroom.io/cluster-external-secret';

export interface ClusterExternalSecretDeps {
  custom: CustomObjectsApi;
  namespaces: () => V1Namespace[];
  externalSecretsOf: (cesName: string) => ExternalSecret[];
  writeStatus: (ces: ClusterExternalSecret, status: ClusterExternalSecretStatus) => Promise<void>;
  events: EventRecorder;
}

export function createClusterExternalSecretReconciler(deps: ClusterExternalSecretDeps) {
  return async function reconcile(ces: ClusterExternalSecret): Promise<{ requeueAfterMs?: number }> {
    let spec;
    try {
      spec = parseClusterExternalSecretSpec(ces.spec);
    } catch (err) {
      const message =
        err instanceof z.ZodError
          ? err.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ')
          : String(err);
      await deps.writeStatus(ces, {
        ...ces.status,
        conditions: setCondition(ces.status?.conditions, {
          type: 'Ready',
          status: 'False',
          reason: 'InvalidSpec',
          message,
        }),
        observedGeneration: ces.metadata.generation ?? 0,
      });
      await deps.events.warning({ kind: 'ClusterExternalSecret', metadata: ces.metadata }, 'InvalidSpec', message);
      return {};
    }
    const esName = spec.externalSecretName ?? ces.metadata.name;
    const wanted = deps
      .namespaces()
      .filter((ns) => !ns.metadata?.deletionTimestamp && ns.status?.phase !== 'Terminating')
      .filter(
        (ns) =>
          (spec.namespaces ?? []).includes(ns.metadata!.name!) ||
          (spec.namespaceSelectors ?? []).some((s) => matchesSelector(s, ns.metadata?.labels ?? {})),
      )
      .map((ns) => ns.metadata!.name!)
      .sort();
    const provisioned: string[] = [];
    const failed: { namespace: string; reason: string }[] = [];
    const owner = {
      apiVersion: API_VERSION,
      kind: 'ClusterExternalSecret',
      name: ces.metadata.name,
      uid: ces.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    const existingByNs = new Map(deps.externalSecretsOf(ces.metadata.name).map((es) => [es.metadata.namespace!, es]));
    for (const namespace of wanted) {
      const existing = existingByNs.get(namespace);
      const metadata = {
        name: esName,
        namespace,
        labels: { ...(spec.externalSecretMetadata?.labels ?? {}), [CES_LABEL]: ces.metadata.name },
        annotations: spec.externalSecretMetadata?.annotations ?? {},
        ownerReferences: [owner],
      };
      try {
        if (!existing) {
          await deps.custom.createNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: 'externalsecrets',
            body: { apiVersion: API_VERSION, kind: 'ExternalSecret', metadata, spec: spec.externalSecretSpec },
          });
        } else if (
          JSON.stringify(existing.spec) !== JSON.stringify(spec.externalSecretSpec) ||
          JSON.stringify(existing.metadata.labels ?? {}) !== JSON.stringify(metadata.labels)
        ) {
          await deps.custom.replaceNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: 'externalsecrets',
            name: esName,
            // Rollout control annotations (`strongroom rollout pause|abort|…`) are people's requests, not ours to drop.
            body: {
              ...existing,
              metadata: {
                ...existing.metadata,
                labels: metadata.labels,
                annotations: { ...rolloutControls(existing.metadata.annotations), ...metadata.annotations },
              },
              spec: spec.externalSecretSpec,
            },
          });
        }
        provisioned.push(namespace);
      } catch (err) {
        const code = (err as { code?: number }).code;
        failed.push({
          namespace,
          reason:
            code === 409
              ? 'an ExternalSecret with that name already exists'
              : `API error ${code ?? (err as Error).message}`,
        });
      }
    }
    for (const [namespace] of existingByNs) {
      if (wanted.includes(namespace)) continue;
      try {
        await deps.custom.deleteNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'externalsecrets',
          name: esName,
        });
      } catch (err) {
        if ((err as { code?: number }).code !== 404)
          failed.push({ namespace, reason: 'could not remove the ExternalSecret' });
      }
    }
    const ok = failed.length === 0;
    await deps.writeStatus(ces, {
      conditions: setCondition(ces.status?.conditions, {
        type: 'Ready',
        status: ok ? 'True' : 'False',
        reason: ok ? 'Provisioned' : 'PartiallyProvisioned',
        message: ok
          ? `ExternalSecret ${esName} in ${provisioned.length} namespace(s)`
          : `failed in ${failed.length} namespace(s)`,
      }),
      observedGeneration: ces.metadata.generation ?? 0,
      provisionedNamespaces: provisioned,
      failedNamespaces: failed,
    });
    if (!ok)
      await deps.events.warning(
        { kind: 'ClusterExternalSecret', metadata: ces.metadata },
        'PartiallyProvisioned',
        failed
          .map((f) => `${f.namespace}: ${f.reason}`)
          .join('; ')
          .slice(0, 900),
      );
    return { requeueAfterMs: parseDuration(spec.refreshTime) || 60_000 };
  };
}

function rolloutControls(annotations: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k.startsWith('strongroom.io/rollout-')));
}
