import { ErrorState } from '../../components/states.js';
import type { MountInfo } from './kv.js';
import type { SecretSummary } from './secret-data.js';

function when(time: string | undefined): string {
  if (!time || time.startsWith('0001-')) return '—';
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? time : date.toLocaleString();
}

/** The secret's metadata (KV v2): none of it is secret, so it is shown as soon as the page opens. */
export function MetadataCard({ mount, summary }: { mount: MountInfo; summary: SecretSummary }) {
  if (mount.kvVersion === 1) return null;
  const meta = summary.metadata;
  const info = summary.versionInfo;
  const custom = meta?.custom_metadata ?? info?.custom_metadata ?? null;
  return (
    <section className="card" aria-labelledby="metadata-title">
      <h2 id="metadata-title" className="section-title">
        Metadata
      </h2>
      {!meta && summary.metadataError !== undefined ? <ErrorState error={summary.metadataError} /> : null}
      {/* Nothing but the refusal when neither the metadata nor the version's own times could be read. */}
      {!meta && !info ? null : (
        <dl className="meta-list">
          <dt>Current version</dt>
          <dd>{meta?.current_version ?? info?.version ?? '—'}</dd>
          {meta ? (
            <>
              <dt>Created</dt>
              <dd>{when(meta.created_time)}</dd>
              <dt>Updated</dt>
              <dd>{when(meta.updated_time)}</dd>
              <dt>Versions kept</dt>
              <dd>{meta.max_versions === 0 ? "the mount's limit" : meta.max_versions}</dd>
              <dt>Check-and-set required</dt>
              <dd>{meta.cas_required ? 'yes' : 'no (the console always sends it)'}</dd>
            </>
          ) : info ? (
            <>
              <dt>Version created</dt>
              <dd>{when(info.created_time)}</dd>
            </>
          ) : null}
          <dt>Custom metadata</dt>
          <dd>
            {custom && Object.keys(custom).length > 0 ? (
              <ul className="plain-list">
                {Object.entries(custom).map(([k, v]) => (
                  <li key={k}>
                    <span className="mono">{k}</span>: {v}
                  </li>
                ))}
              </ul>
            ) : (
              <span className="muted">none</span>
            )}
          </dd>
        </dl>
      )}
    </section>
  );
}
