import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { Page } from '../../components/page.js';
import { Button } from '../../components/button.js';
import { Empty, ErrorState, Loading } from '../../components/states.js';
import { useApi } from '../../components/use-api.js';
import { Link, navigate } from '../../router.js';
import { consolePath, listFolder, type MountInfo } from './kv.js';
import { Breadcrumbs } from './breadcrumbs.js';
import { GoToPath } from './go-to-path.js';
import { engineLabel } from './mounts.js';

/**
 * A folder of a KV mount: its keys (folders end with '/'), a filter over them, and a new secret here. The list is
 * keyboard-driven: ↓ from the filter enters it, ↑/↓/Home/End move, Enter opens.
 */
export function FolderPage({ mount, folder }: { mount: MountInfo; folder: string }) {
  const state = useApi((signal) => listFolder(mount, folder, signal), [mount.path, folder]);
  const [filter, setFilter] = useState('');
  const list = useRef<HTMLUListElement>(null);
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const keys = [...(state.data ?? [])].sort((a, b) => {
      // Folders first, then secrets, each alphabetically: the way people scan a tree.
      const af = a.endsWith('/') ? 0 : 1;
      const bf = b.endsWith('/') ? 0 : 1;
      return af - bf || a.localeCompare(b);
    });
    return needle ? keys.filter((k) => k.toLowerCase().includes(needle)) : keys;
  }, [state.data, filter]);

  const focusItem = (index: number) => {
    const count = shown.length;
    if (count === 0) return;
    list.current?.querySelectorAll('a')[Math.max(0, Math.min(count - 1, index))]?.focus();
  };
  const onListKey = (event: KeyboardEvent, index: number) => {
    const next =
      event.key === 'ArrowDown'
        ? index + 1
        : event.key === 'ArrowUp'
          ? index - 1
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? shown.length - 1
              : undefined;
    if (next === undefined) return;
    event.preventDefault();
    if (next < 0) document.getElementById('folder-filter')?.focus();
    else focusItem(next);
  };
  const onFilterKey = (event: KeyboardEvent) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      focusItem(0);
    } else if (event.key === 'Enter' && shown.length > 0) {
      event.preventDefault();
      navigate(consolePath(mount.path, folder + shown[0]!));
    }
  };
  const title = folder === '' ? `${mount.path}/` : `${mount.path}/${folder}`;

  return (
    <Page
      title={title}
      subtitle={engineLabel(mount)}
      actions={
        <Button variant="primary" onClick={() => navigate(`${consolePath(mount.path, folder)}?new=1`)}>
          New secret
        </Button>
      }
    >
      <Breadcrumbs mount={mount} path={folder} />
      <div className="folder-tools">
        <div className="field">
          <label htmlFor="folder-filter">Filter this folder</label>
          <input
            id="folder-filter"
            type="search"
            value={filter}
            autoComplete="off"
            spellCheck={false}
            aria-controls="folder-list"
            aria-describedby="folder-filter-hint"
            onChange={(e) => setFilter(e.target.value)}
            onKeyDown={onFilterKey}
          />
          <span className="field-hint" id="folder-filter-hint">
            ↓ moves into the list; Enter opens the first match.
          </span>
        </div>
        <GoToPath initial={title} />
      </div>
      {state.error !== undefined ? (
        <ErrorState error={state.error} />
      ) : !state.data ? (
        <Loading label="Listing the folder…" />
      ) : state.data.length === 0 ? (
        <Empty title="This folder is empty">
          {folder === ''
            ? 'No secret is stored in this mount yet (or your token may not see any).'
            : 'Nothing is stored under this folder (or your token may not see it).'}{' '}
          Use “New secret” to create one.
        </Empty>
      ) : (
        <>
          <p className="visually-hidden" aria-live="polite">
            {shown.length} of {state.data.length} shown
          </p>
          {shown.length === 0 ? (
            <Empty title={`No key in this folder matches “${filter}”`}>
              The filter looks at this folder only; type a full path in “Go to path” to go elsewhere.
            </Empty>
          ) : (
            <ul ref={list} className="key-list" id="folder-list" aria-label={`Keys in ${title}`}>
              {shown.map((key, i) => (
                <li key={key}>
                  <Link
                    to={consolePath(mount.path, folder + key)}
                    onKeyDown={(e) => onListKey(e, i)}
                    className={key.endsWith('/') ? 'key key-folder' : 'key key-secret'}
                  >
                    <span aria-hidden="true" className="key-icon">
                      {key.endsWith('/') ? '▸' : '•'}
                    </span>
                    {key}
                    <span className="visually-hidden">{key.endsWith('/') ? ' (folder)' : ' (secret)'}</span>
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Page>
  );
}
