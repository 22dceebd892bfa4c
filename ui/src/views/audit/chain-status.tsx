import { ApiError } from '../../api/client.js';
import { Button } from '../../components/button.js';
import { Empty, ErrorState, Loading } from '../../components/states.js';
import type { ApiState } from '../../components/use-api.js';
import { NeedsSudo } from './needs-sudo.js';

/** One device's answer from sys/audit/verify. */
export interface DeviceVerification {
  path: string;
  type: 'file' | 'database';
  state: 'intact' | 'broken' | 'incomplete' | 'unverifiable';
  ok: boolean;
  entries: number;
  elapsed_ms: number;
  reason?: string;
  bad_line?: number;
  first_seq?: number;
  last_seq?: number;
  node_id?: string;
  file_path?: string;
  bytes?: number;
}

const STATE_LABEL: Record<DeviceVerification['state'], { text: string; badge: string }> = {
  intact: { text: 'Chain intact', badge: 'audit-badge-ok' },
  broken: { text: 'Chain broken', badge: 'audit-badge-bad' },
  incomplete: { text: 'Not fully checked', badge: 'audit-badge-warn' },
  unverifiable: { text: 'Cannot be verified', badge: 'audit-badge-warn' },
};

/** The hash chain of every audit device, as the server verifies it on request (sys/audit/verify). */
export function ChainStatus({ state }: { state: ApiState<DeviceVerification[]> }) {
  const { data, error, loading, reload } = state;
  return (
    <section className="card" aria-labelledby="audit-chain-heading" aria-busy={loading}>
      <div className="audit-section-head">
        <h2 id="audit-chain-heading">Chain verification</h2>
        <Button onClick={reload} busy={loading}>
          Verify again
        </Button>
      </div>
      <p className="muted">
        Each entry carries the hash of the one before it, so a changed, removed or reordered entry breaks the chain;
        file devices are also checked against where their anchor says they start and end.
      </p>
      <div aria-live="polite">
        {error !== undefined ? (
          error instanceof ApiError && error.permissionDenied ? (
            <NeedsSudo path="sys/audit/verify" />
          ) : (
            <ErrorState error={error} />
          )
        ) : data === undefined ? (
          <Loading label="Verifying the audit devices…" />
        ) : data.length === 0 ? (
          <Empty title="No audit device is enabled">
            Nothing is being recorded. Enable one with <code>strongroom audit enable database</code>.
          </Empty>
        ) : (
          <ul className="audit-devices">
            {data.map((d) => (
              <li key={d.path} className="audit-device">
                <span className={`badge ${STATE_LABEL[d.state].badge}`}>{STATE_LABEL[d.state].text}</span>{' '}
                <strong>{d.path}</strong> <span className="muted">({d.type})</span>
                <div className="audit-device-detail">
                  {d.entries.toLocaleString()} entries checked
                  {d.last_seq !== undefined ? `, up to seq ${d.last_seq}` : ''}
                  {d.bytes !== undefined ? ` (${d.bytes.toLocaleString()} bytes)` : ''} in {d.elapsed_ms} ms
                  {d.file_path ? (
                    <>
                      {' '}
                      — <code>{d.file_path}</code>
                    </>
                  ) : null}
                </div>
                {d.reason ? (
                  <div className="audit-device-reason">
                    {d.bad_line !== undefined ? `Entry ${d.bad_line}: ` : ''}
                    {d.reason}
                    {d.node_id ? ` (chain of server ${d.node_id})` : ''}
                  </div>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
