import { useEffect, useState } from 'react';
import { api, ApiError } from '../../api/client.js';
import { Page } from '../../components/page.js';
import { Async, Empty } from '../../components/states.js';
import { Table } from '../../components/table.js';
import { useApi } from '../../components/use-api.js';
import { Link } from '../../router.js';
import { RolloutActions } from './actions.js';
import './clusters.css';
import {
  ACTIVE_PHASES,
  ago,
  groupBySecret,
  type Cluster,
  type Control,
  type SecretGroup,
  type Usage,
} from './model.js';
import { RolloutView } from './rollout.js';

interface Loaded {
  clusters: Cluster[];
  controls: Control[];
  /** Whether the token may read the controls (and so, probably, request them). */
  controlsVisible: boolean;
  at: number;
}

/** How often the page refreshes; faster while a request waits for its operator. */
const REFRESH_MS = 5_000;
const REFRESH_WAITING_MS = 1_500;

async function load(signal: AbortSignal): Promise<Loaded> {
  let names: string[] = [];
  try {
    const listed = await api.read<{ keys?: string[] }>('sys/clusters', { query: { list: true }, signal });
    names = listed.data?.keys ?? [];
  } catch (err) {
    if (!(err instanceof ApiError && err.notFound)) throw err;
  }
  const clusters = await Promise.all(
    names.map(async (name) => (await api.read<Cluster>(`sys/clusters/${name}`, { signal })).data),
  );
  let controlsVisible = true;
  const controls = await Promise.all(
    names.map(async (name) => {
      try {
        return (await api.read<{ controls: Control[] }>(`sys/clusters/${name}/controls`, { signal })).data.controls;
      } catch (err) {
        // A viewer who may not see controls still sees the clusters; the buttons then stay hidden.
        if (err instanceof ApiError && (err.permissionDenied || err.notFound)) {
          if (err.permissionDenied) controlsVisible = false;
          return [];
        }
        throw err;
      }
    }),
  );
  return { clusters, controls: controls.flat(), controlsVisible, at: Date.now() };
}

function ClusterTable({ clusters, now }: { clusters: Cluster[]; now: number }) {
  return (
    <Table
      caption="Clusters"
      hideCaption
      rows={clusters}
      rowKey={(c) => c.name}
      columns={[
        { header: 'Cluster', cell: (c) => <strong>{c.name}</strong> },
        {
          header: 'Last report',
          cell: (c) => (
            <>
              <time dateTime={c.reported_at} title={c.reported_at}>
                {ago(c.reported_at, now)}
              </time>{' '}
              {c.stale ? (
                <span className="badge badge-warning" title={`No report for over ${3 * c.publish_interval_seconds} s`}>
                  stale
                </span>
              ) : null}
            </>
          ),
        },
        {
          header: 'Operator',
          cell: (c) => (
            <span className="muted">
              {c.operator.identity ?? 'unknown'}
              {c.operator.version ? ` (${c.operator.version})` : ''} · {c.reported_by}
            </span>
          ),
        },
        { header: 'ExternalSecrets', className: 'num', cell: (c) => c.external_secrets.length },
        {
          header: 'Rollouts in progress',
          className: 'num',
          cell: (c) => c.external_secrets.filter((es) => es.rollout && ACTIVE_PHASES.has(es.rollout.phase)).length,
        },
      ]}
    />
  );
}

function latestControl(controls: Control[], usage: Usage): Control | undefined {
  // The server lists them newest first.
  return controls.find(
    (c) =>
      c.cluster === usage.cluster.name && c.namespace === usage.es.namespace && c.external_secret === usage.es.name,
  );
}

function GroupCard({ group, loaded, reload }: { group: SecretGroup; loaded: Loaded; reload: () => void }) {
  return (
    <section className="card clusters-group" aria-label={`Secret ${group.label}`}>
      <h3>{group.link ? <Link to={group.link}>{group.label}</Link> : group.label}</h3>
      <Table
        caption={`Where ${group.label} is used`}
        hideCaption
        rows={group.usages}
        rowKey={(u) => `${u.cluster.name}/${u.es.namespace}/${u.es.name}`}
        columns={[
          {
            header: 'Cluster',
            cell: (u) => (
              <>
                {u.cluster.name} {u.cluster.stale ? <span className="badge badge-warning">stale</span> : null}
              </>
            ),
          },
          {
            header: 'ExternalSecret',
            cell: (u) => (
              <span className="mono">
                {u.es.namespace}/{u.es.name}
              </span>
            ),
          },
          { header: 'Synced version', cell: (u) => u.es.synced_version ?? <span className="muted">not synced</span> },
          {
            header: 'Workloads (version running)',
            cell: (u) =>
              u.es.consumers.length === 0 ? (
                <span className="muted">none</span>
              ) : (
                <ul className="clusters-workloads">
                  {u.es.consumers.map((w) => (
                    <li key={`${w.kind}/${w.name}`}>
                      {w.kind} <span className="mono">{w.name}</span>{' '}
                      {w.version ? `v${w.version}` : <span className="muted">version unknown</span>}
                    </li>
                  ))}
                </ul>
              ),
          },
          { header: 'Rollout', cell: (u) => <RolloutView rollout={u.es.rollout} /> },
          ...(loaded.controlsVisible
            ? [
                {
                  header: 'Actions',
                  cell: (u: Usage) => (
                    <RolloutActions usage={u} latest={latestControl(loaded.controls, u)} onRequested={reload} />
                  ),
                },
              ]
            : []),
        ]}
      />
    </section>
  );
}

export default function ClustersPage() {
  const state = useApi(load, []);
  const waiting = state.data?.controls.some((c) => c.state === 'queued') ?? false;
  const [, tick] = useState(0);
  const { reload } = state;
  useEffect(() => {
    const timer = setInterval(
      () => {
        reload();
        tick((n) => n + 1);
      },
      waiting ? REFRESH_WAITING_MS : REFRESH_MS,
    );
    return () => clearInterval(timer);
  }, [reload, waiting]);

  return (
    <Page
      title="Clusters"
      subtitle="What each cluster's operator reports: the secrets it syncs, the workloads using them, and their rollouts."
    >
      <Async state={state} loadingLabel="Loading clusters…">
        {(loaded) =>
          loaded.clusters.length === 0 ? (
            <Empty title="No cluster has reported yet.">
              Start the operator with <code>--cluster-name</code>, <code>--publish-address</code> and a token (
              <code>--publish-token-file</code> or <code>--publish-auth-role</code>) allowed to update{' '}
              <code>sys/clusters/&lt;name&gt;</code>.
            </Empty>
          ) : (
            <>
              <h2>Reporting clusters</h2>
              <ClusterTable clusters={loaded.clusters} now={loaded.at} />
              <h2>Secrets in use</h2>
              <div aria-live="polite">
                {groupBySecret(loaded.clusters).map((group) => (
                  <GroupCard key={group.label} group={group} loaded={loaded} reload={reload} />
                ))}
              </div>
            </>
          )
        }
      </Async>
    </Page>
  );
}
