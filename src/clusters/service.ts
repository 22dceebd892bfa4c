import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { invalid, notFound, StrongroomError } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { createClusterRepository, type ControlRow, type SummaryRow } from './repository.js';
import {
  CLUSTER_NAME,
  CONTROL_ACTIONS,
  CONTROL_EXPIRY_MS,
  KEPT_CONTROLS,
  MAX_QUEUED_CONTROLS,
  MAX_SUMMARY_BYTES,
  OBJECT_NAME,
  STALE_INTERVALS,
  VERSION_TEXT,
  acknowledgementSchema,
  clusterSummarySchema,
  type ClusterListing,
  type ClusterRecord,
  type ClusterService,
  type ClusterSummary,
  type Control,
  type ControlAction,
  type ControlState,
} from './types.js';

export interface ClusterServiceDeps {
  storage: Pick<Storage, 'db'>;
  /** Epoch milliseconds; injectable so tests can move time. */
  clock?: () => number;
}

const ACTIVE_PHASES = new Set(['Preparing', 'Progressing', 'Paused', 'RollingBack']);

function checkName(name: string): string {
  if (!CLUSTER_NAME.test(name))
    throw invalid("cluster names are 1 to 63 characters: lower-case letters, digits, '-' and '.'");
  return name;
}

/** A zod failure as one line naming the field, never the value (it could be anything a publisher sent). */
function describe(prefix: string, err: z.ZodError): string {
  const issue = err.issues[0];
  const where = issue?.path.length ? issue.path.map(String).join('.') : prefix;
  return `${prefix}: field "${where}" is invalid${issue ? ` (${issue.message})` : ''}`;
}

function parse<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const result = schema.safeParse(raw);
  if (!result.success) throw invalid(describe(what, result.error));
  return result.data;
}

const iso = (ms: number) => new Date(ms).toISOString();
const bounded = (value: string, max: number) => (value.length > max ? value.slice(0, max) : value);

function controlOf(row: ControlRow): Control {
  return {
    id: row.id,
    cluster: row.cluster,
    namespace: row.namespace,
    external_secret: row.external_secret,
    action: row.action as ControlAction,
    ...(row.to_version !== null ? { to_version: row.to_version } : {}),
    state: row.state as ControlState,
    ...(row.message !== null ? { message: row.message } : {}),
    // The accessor is kept in the row (and the audit log has the request) but never shown: viewers of a cluster
    // and the operator in it have no use for a handle that looks up or revokes the requester's token.
    requested_by: row.requested_by,
    requested_at: iso(row.requested_at),
    ...(row.delivered_at !== null ? { delivered_at: iso(row.delivered_at) } : {}),
    ...(row.completed_at !== null ? { completed_at: iso(row.completed_at) } : {}),
  };
}

const controlRequestSchema = z.object({
  namespace: z.string().regex(OBJECT_NAME, 'a Kubernetes namespace name'),
  external_secret: z.string().regex(OBJECT_NAME, 'a Kubernetes object name'),
  action: z.enum(CONTROL_ACTIONS),
  to_version: z.string().regex(VERSION_TEXT, 'a store version such as 3').optional(),
});

export function createClusterService(deps: ClusterServiceDeps): ClusterService {
  const repo = createClusterRepository(deps.storage);
  const clock = deps.clock ?? Date.now;

  const isStale = (row: SummaryRow, now: number) =>
    now - row.reported_at > STALE_INTERVALS * row.publish_interval_seconds * 1000;

  async function summaryOf(name: string): Promise<{ row: SummaryRow; summary: ClusterSummary }> {
    const row = await repo.getSummary(checkName(name));
    if (!row) throw notFound(`cluster ${name} has not published a summary`);
    return { row, summary: JSON.parse(row.summary) as ClusterSummary };
  }

  return {
    async publish(name, raw, publisher) {
      checkName(name);
      const body = (raw ?? {}) as Record<string, unknown>;
      // Bounded before parsing: the schema's per-field limits alone would still let a huge array through parsing.
      if (JSON.stringify(body).length > MAX_SUMMARY_BYTES)
        throw invalid(`cluster summary is larger than ${MAX_SUMMARY_BYTES} bytes`);
      const summary = parse(clusterSummarySchema, body, 'cluster summary');
      const acknowledged = parse(acknowledgementSchema, body.acknowledged, 'acknowledged');
      const now = clock();
      await repo.putSummary({
        name,
        summary: JSON.stringify(summary),
        publish_interval_seconds: summary.publish_interval_seconds,
        reported_by: bounded(publisher.displayName, 256),
        reported_at: now,
      });
      for (const ack of acknowledged)
        await repo.complete(name, ack.id, ack.state, ack.message ? bounded(ack.message, 1024) : null, now);
      await repo.expire(name, now - CONTROL_EXPIRY_MS, now);
      await repo.trim(name, KEPT_CONTROLS);
      return { controls: (await repo.deliver(name, now)).map(controlOf) };
    },

    async read(name) {
      const { row, summary } = await summaryOf(name);
      return {
        name: row.name,
        reported_at: iso(row.reported_at),
        reported_by: row.reported_by,
        stale: isStale(row, clock()),
        ...summary,
      } satisfies ClusterRecord;
    },

    async list() {
      const now = clock();
      const out = new Map<string, ClusterListing>();
      for (const row of await repo.listSummaries()) {
        const summary = JSON.parse(row.summary) as ClusterSummary;
        out.set(row.name, {
          reported_at: iso(row.reported_at),
          stale: isStale(row, now),
          external_secrets: summary.external_secrets.length,
          rollouts_in_progress: summary.external_secrets.filter(
            (es) => es.rollout && ACTIVE_PHASES.has(es.rollout.phase),
          ).length,
        });
      }
      return out;
    },

    async delete(name) {
      await repo.remove(checkName(name));
    },

    async requestControl(name, raw, requester) {
      const { summary } = await summaryOf(name);
      // to_version means something only to undo; a form that sends it empty for other actions is not an error.
      const body = { ...((raw ?? {}) as Record<string, unknown>) };
      if (body.action !== 'undo') delete body.to_version;
      const request = parse(controlRequestSchema, body, 'control');
      if (request.action === 'undo' && request.to_version === undefined)
        throw invalid('undo needs to_version: the store version to roll out');
      const known = summary.external_secrets.some(
        (es) => es.namespace === request.namespace && es.name === request.external_secret,
      );
      if (!known)
        throw invalid(
          `cluster ${name} does not report an ExternalSecret ${request.namespace}/${request.external_secret}`,
        );
      const now = clock();
      await repo.expire(name, now - CONTROL_EXPIRY_MS, now);
      if ((await repo.countQueued(name)) >= MAX_QUEUED_CONTROLS)
        throw new StrongroomError(
          'rate_limited',
          `cluster ${name} has ${MAX_QUEUED_CONTROLS} controls its operator has not collected yet`,
        );
      const row: ControlRow = {
        id: randomUUID(),
        cluster: name,
        namespace: request.namespace,
        external_secret: request.external_secret,
        action: request.action,
        to_version: request.action === 'undo' ? request.to_version! : null,
        state: 'queued',
        message: null,
        requested_by: bounded(requester.displayName, 256),
        requested_by_accessor: bounded(requester.accessor, 128),
        requested_at: now,
        delivered_at: null,
        completed_at: null,
      };
      await repo.insertControl(row);
      return controlOf(row);
    },

    async listControls(name) {
      await summaryOf(name);
      const now = clock();
      await repo.expire(name, now - CONTROL_EXPIRY_MS, now);
      return (await repo.controlsOf(name)).map(controlOf);
    },
  };
}
