import type { ClusterService, Requester } from '../../clusters/types.js';
import { definePath, type BackendPath, type RequestContext } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';

const NAME = '(?<name>[^/]+)';

const requesterOf = (ctx: RequestContext): Requester => ({
  displayName: ctx.token?.displayName ?? '',
  accessor: ctx.token?.accessor ?? '',
});

/**
 * sys/clusters: the operators' summaries and the rollout controls people queue for them (src/clusters/). Ordinary
 * ACL paths: an operator needs `update` on sys/clusters/<its name>; the console `read`/`list` on sys/clusters/*;
 * whoever steers rollouts `update` on sys/clusters/<name>/controls (a separate path, so publishing a summary never
 * lets an operator queue controls, nor reading one lets a person steer).
 */
export function clusterPaths(deps: { clusters: ClusterService }): BackendPath[] {
  const { clusters } = deps;
  const list = async () => {
    const listing = await clusters.list();
    return { data: { keys: [...listing.keys()], key_info: Object.fromEntries(listing) } };
  };
  return [
    {
      name: 'sys.clusters.list',
      pattern: 'clusters/?',
      synopsis: 'Lists the clusters whose operators publish a summary, with when each last reported.',
      operations: { list, read: list },
    },
    definePath({
      name: 'sys.clusters.controls',
      pattern: `clusters/${NAME}/controls`,
      synopsis: "Queues a rollout control for a cluster's operator, or lists the controls and their outcome.",
      fields: {
        namespace: f.requiredString('Namespace of the ExternalSecret.'),
        external_secret: f.requiredString('Name of the ExternalSecret.'),
        action: f.enum(['pause', 'resume', 'abort', 'retry', 'undo'], 'What the operator does to its rollout.'),
        to_version: f.string('undo only: the store version to roll out.'),
      },
      operations: {
        read: async (ctx) => ({ data: { controls: await clusters.listControls(ctx.params.name!) } }),
        update: async (ctx) => ({
          data: { ...(await clusters.requestControl(ctx.params.name!, ctx.input, requesterOf(ctx))) },
        }),
      },
    }),
    definePath({
      name: 'sys.clusters',
      pattern: `clusters/${NAME}`,
      synopsis:
        "Publishes (operator), reads or forgets a cluster's summary of ExternalSecrets, consumers and rollouts.",
      description:
        'A publish replaces the whole summary and answers the controls queued for the cluster; `acknowledged` ' +
        'reports the outcome of controls collected earlier. Names and versions only: never secret values.',
      fields: {
        publish_interval_seconds: f.any('How often the operator publishes (seconds); stale after 3 intervals.'),
        operator: f.any('The publishing operator: {identity, version}.'),
        external_secrets: f.any('The ExternalSecrets with their store paths, consumers and rollout.'),
        acknowledged: f.any('Outcome of controls collected earlier: [{id, state: applied|rejected, message}].'),
      },
      operations: {
        read: async (ctx) => ({ data: { ...(await clusters.read(ctx.params.name!)) } }),
        // The raw body, not `input`: the domain validates the nested summary with its own schema.
        update: async (ctx) => ({ data: await clusters.publish(ctx.params.name!, ctx.data, requesterOf(ctx)) }),
        delete: async (ctx) => void (await clusters.delete(ctx.params.name!)),
      },
    }),
  ];
}
