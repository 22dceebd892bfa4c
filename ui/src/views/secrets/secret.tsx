import { useEffect, useState } from 'react';
import { Page } from '../../components/page.js';
import { Button } from '../../components/button.js';
import { ConfirmDialog } from '../../components/confirm.js';
import { ErrorState, Loading } from '../../components/states.js';
import { Tabs } from '../../components/tabs.js';
import { useApi } from '../../components/use-api.js';
import { notify } from '../../components/toast.js';
import { api } from '../../api/client.js';
import { Link, navigate } from '../../router.js';
import { intendToEdit } from './editor.js';
import { consolePath, kvPath, listFolder, type MountInfo } from './kv.js';
import { loadSummary, SecretNotFound } from './secret-data.js';
import { Breadcrumbs } from './breadcrumbs.js';
import { DataTab } from './data-tab.js';
import { MetadataCard } from './metadata-card.js';
import SecretHistory from './history/index.js';

/** A secret: its keys with values masked until revealed, its metadata, edit and delete, and (KV v2) its history. */
export function SecretPage({ mount, path, tab }: { mount: MountInfo; path: string; tab: 'data' | 'history' }) {
  const summary = useApi((signal) => loadSummary(mount, path, signal), [mount.path, path]);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const full = `${mount.path}/${path}`;
  const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
  const here = consolePath(mount.path, path);

  // "Go to path" without the trailing '/' may name a folder: open it when that is what is there.
  useEffect(() => {
    if (!(summary.error instanceof SecretNotFound)) return;
    const controller = new AbortController();
    listFolder(mount, `${path}/`, controller.signal).then(
      (keys) => {
        if (keys.length > 0) navigate(consolePath(mount.path, `${path}/`), { replace: true });
      },
      () => undefined,
    );
    return () => controller.abort();
  }, [summary.error, mount, path]);

  const data = summary.data;
  const version = data?.version;
  const gone = data?.gone;
  const remove = async () => {
    setDeleting(true);
    try {
      await api.del(kvPath(mount, 'data', path));
      setConfirmDelete(false);
      if (mount.kvVersion === 1) {
        notify(`Deleted ${full}`);
        navigate(consolePath(mount.path, parent));
      } else {
        notify(`Deleted version ${version} of ${full}`);
        summary.reload();
      }
    } catch (err) {
      setConfirmDelete(false);
      notify(`Could not delete ${full}: ${err instanceof Error ? err.message : String(err)}`, 'error');
    } finally {
      setDeleting(false);
    }
  };

  const actions = data ? (
    <>
      {!gone ? (
        <Button
          variant="primary"
          onClick={() => {
            intendToEdit(`${mount.path}/${path}`);
            navigate(`${here}?edit=1`);
          }}
        >
          Edit
        </Button>
      ) : null}
      {!gone ? (
        <Button variant="danger" onClick={() => setConfirmDelete(true)}>
          Delete
        </Button>
      ) : null}
    </>
  ) : undefined;

  // A path with nothing at it still has its tabs: a secret whose every version was deleted and destroyed, or whose
  // metadata was deleted, is "nothing here" on Data and an empty timeline on History.
  const dataTab =
    summary.error instanceof SecretNotFound ? (
      <div className="state state-empty" role="status">
        <p className="state-title">No secret at {full}</p>
        <p>
          <Link to={`${consolePath(mount.path, parent)}?new=1&name=${encodeURIComponent(path.slice(parent.length))}`}>
            Create it
          </Link>{' '}
          or go back to <Link to={consolePath(mount.path, parent)}>{`${mount.path}/${parent}`}</Link>.
        </p>
      </div>
    ) : summary.error !== undefined ? (
      <ErrorState error={summary.error} />
    ) : !data ? (
      <Loading label="Loading the secret…" />
    ) : (
      <>
        <DataTab key={`${full}@${version ?? 'v1'}`} mount={mount} path={path} summary={data} />
        <MetadataCard mount={mount} summary={data} />
      </>
    );

  return (
    <Page
      title={full}
      subtitle={mount.kvVersion === 2 && version !== undefined ? `Version ${version}` : `KV version ${mount.kvVersion}`}
      actions={actions}
    >
      <Breadcrumbs mount={mount} path={path} />
      {mount.kvVersion === 2 ? (
        <Tabs
          label="Secret"
          tabs={[
            { id: 'data', label: 'Data' },
            { id: 'history', label: 'History' },
          ]}
          selected={tab}
          onSelect={(id) => navigate(id === 'history' ? `${here}?tab=history` : here, { replace: true })}
        >
          {tab === 'history' ? <SecretHistory mount={mount.path} path={path} onChanged={summary.reload} /> : dataTab}
        </Tabs>
      ) : (
        dataTab
      )}
      {confirmDelete ? (
        <ConfirmDialog
          title={mount.kvVersion === 1 ? `Delete ${full}?` : `Delete version ${version} of ${full}?`}
          confirmLabel={mount.kvVersion === 1 ? `Delete ${full}` : `Delete version ${version}`}
          danger
          busy={deleting}
          onConfirm={() => void remove()}
          onCancel={() => setConfirmDelete(false)}
        >
          {mount.kvVersion === 1 ? (
            <p>KV version 1 keeps no history: the secret is gone for good.</p>
          ) : (
            <p>
              The latest version ({version}) is soft-deleted: reads stop returning it, and it can be undeleted from the
              History tab until it is destroyed.
            </p>
          )}
        </ConfirmDialog>
      ) : null}
    </Page>
  );
}
