import { useState } from 'react';
import { useApi } from '../../components/use-api.js';
import { Tabs } from '../../components/tabs.js';
import { ErrorState, Loading } from '../../components/states.js';
import { Page } from '../../components/page.js';
import { ApiError } from '../../api/client.js';
import { Link } from '../../router.js';
import { resolveMount, type MountInfo } from './kv.js';
import { Breadcrumbs } from './breadcrumbs.js';
import { FolderPage } from './folder.js';
import { SecretPage } from './secret.js';
import { SecretEditor } from './editor.js';
import type { Place } from './index.js';

// Mounts seldom change while the console is open; one answer per mount saves a round trip on every click.
const known = new Map<string, MountInfo>();

function cachedMount(path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const mount of known.values()) {
    if ((path === mount.path || path.startsWith(`${mount.path}/`)) && mount.path.length > (best?.path.length ?? -1))
      best = mount;
  }
  return best;
}

async function findMount(path: string, signal: AbortSignal): Promise<MountInfo> {
  const cached = cachedMount(path);
  if (cached) return cached;
  const mount = await resolveMount(path, signal);
  known.set(mount.path, mount);
  return mount;
}

/**
 * A secret's address that the token may not use at all (not even find its mount): the secret page's tabs, each saying
 * so, with no data — the same frame as a secret it may see, so a person knows where they are.
 */
function DeniedTabs({ error }: { error: unknown }) {
  const [tab, setTab] = useState('data');
  return (
    <Tabs
      label="Secret"
      tabs={[
        { id: 'data', label: 'Data' },
        { id: 'history', label: 'History' },
      ]}
      selected={tab}
      onSelect={setTab}
    >
      <ErrorState error={error} />
    </Tabs>
  );
}

/** Finds the mount of the address, then shows the folder, the secret, or the editor the address asks for. */
export function MountRoute({ place, query }: { place: Place; query: URLSearchParams }) {
  const state = useApi((signal) => findMount(place.path, signal), [place.path]);
  if (state.error !== undefined) {
    const mountMissing = state.error instanceof ApiError && state.error.notFound;
    return (
      <Page title={place.path}>
        <Breadcrumbs mount={undefined} path={place.path} />
        {mountMissing ? (
          <ErrorState error={new ApiError(404, [`Nothing is mounted at "${place.path}".`], place.path)} />
        ) : place.folder ? (
          <ErrorState error={state.error} />
        ) : (
          <DeniedTabs error={state.error} />
        )}
      </Page>
    );
  }
  const mount = state.data;
  if (!mount) return <Loading label="Finding the mount…" />;
  const inner = place.path === mount.path ? '' : place.path.slice(mount.path.length + 1);
  if (mount.kvVersion === undefined) {
    return (
      <Page title={mount.path}>
        <Breadcrumbs mount={mount} path="" />
        <div className="state state-empty">
          <p className="state-title">
            {mount.path}/ is a {mount.type} engine, not a key/value store
          </p>
          <p>
            The console browses KV mounts only. <Link to="/secrets">Back to the mounts</Link>
          </p>
        </div>
      </Page>
    );
  }
  if (place.folder || inner === '') {
    const folder = inner === '' ? '' : `${inner}/`;
    // Keyed by place: nothing typed, filtered or revealed on one page may carry over to the next.
    if (query.get('new') !== null) return <SecretEditor key={`new:${folder}`} mount={mount} folder={folder} />;
    return <FolderPage key={`folder:${mount.path}/${folder}`} mount={mount} folder={folder} />;
  }
  const key = `${mount.path}/${inner}`;
  if (query.get('edit') !== null) return <SecretEditor key={`edit:${key}`} mount={mount} path={inner} />;
  return (
    <SecretPage
      key={`secret:${key}`}
      mount={mount}
      path={inner}
      tab={query.get('tab') === 'history' ? 'history' : 'data'}
    />
  );
}
