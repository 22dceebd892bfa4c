import { Page } from '../../components/page.js';
import { ErrorState, Empty, Loading } from '../../components/states.js';
import { Table } from '../../components/table.js';
import { useApi } from '../../components/use-api.js';
import { ApiError } from '../../api/client.js';
import { Link } from '../../router.js';
import { consolePath, listMounts, type MountInfo } from './kv.js';
import { GoToPath } from './go-to-path.js';

export function engineLabel(mount: MountInfo): string {
  return mount.kvVersion ? `KV version ${mount.kvVersion}` : mount.type;
}

/** The mounted engines; KV ones open in the browser, others say what they are. */
export function MountsPage() {
  const state = useApi((signal) => listMounts(signal), []);
  const denied = state.error instanceof ApiError && state.error.permissionDenied;
  return (
    <Page title="Secrets" subtitle="Key/value mounts and the secrets in them.">
      <GoToPath />
      <h2 className="section-title">Mounts</h2>
      {denied ? (
        <div className="state state-error" role="alert">
          <p className="state-title">Permission denied</p>
          <p>
            Your token may not list the mounts. If you know where your secrets are, type the path above — for example{' '}
            <code>secret/</code>.
          </p>
        </div>
      ) : state.error !== undefined ? (
        <ErrorState error={state.error} />
      ) : !state.data ? (
        <Loading label="Loading mounts…" />
      ) : state.data.mounts.length === 0 ? (
        state.data.partial ? (
          <Empty title="Your token can use no mount">
            Your policies grant nothing under any mount. If you know a path, type it above.
          </Empty>
        ) : (
          <Empty title="Nothing is mounted">
            Enable a KV engine (strongroom secrets enable kv-v2) to store secrets.
          </Empty>
        )
      ) : (
        <>
          {state.data.partial ? (
            <p className="notice">
              Your token may not list every mount (<code>sys/mounts</code>): these are the mounts your policies grant
              something under.
            </p>
          ) : null}
          <Table
            caption="Mounted secrets engines"
            hideCaption
            rows={state.data.mounts}
            rowKey={(m) => m.path}
            columns={[
              {
                header: 'Path',
                cell: (m) =>
                  m.kvVersion ? (
                    <Link to={consolePath(m.path, '')}>{m.path}/</Link>
                  ) : (
                    <span className="mono">{m.path}/</span>
                  ),
              },
              {
                header: 'Engine',
                cell: (m) =>
                  m.kvVersion ? (
                    engineLabel(m)
                  ) : (
                    <span>
                      {m.type} <span className="muted">(not a key/value store: not browsable here)</span>
                    </span>
                  ),
              },
              { header: 'Description', cell: (m) => m.description || <span className="muted">—</span> },
            ]}
          />
        </>
      )}
    </Page>
  );
}
