import { useState } from 'react';
import { Button } from '../../components/button.js';
import { ErrorState } from '../../components/states.js';
import { api } from '../../api/client.js';
import { kvPath, type MountInfo } from './kv.js';
import { valueText } from './secret-data.js';

/** The version the server holds now (after a CAS refusal), from the metadata or, failing that, the key listing. */
export async function currentVersionOf(mount: MountInfo, path: string): Promise<number | undefined> {
  try {
    const res = await api.read<{ current_version: number }>(kvPath(mount, 'metadata', path));
    return res.data.current_version;
  } catch {
    try {
      const res = await api.read<{ metadata: { version: number } }>(kvPath(mount, 'subkeys', path), {
        query: { depth: 1 },
      });
      return res.data.metadata.version;
    } catch {
      return undefined;
    }
  }
}

interface Theirs {
  version: number;
  data: Record<string, unknown>;
}

async function readTheirs(mount: MountInfo, path: string, version: number | undefined): Promise<Theirs> {
  const res = await api.read<{ data: Record<string, unknown>; metadata: { version: number } }>(
    kvPath(mount, 'data', path),
    version !== undefined ? { query: { version } } : {},
  );
  return { version: res.data.metadata.version, data: res.data.data ?? {} };
}

/**
 * A CAS refusal in words: who saved what while this person edited, with their edit kept. They can compare the two
 * (which reads the other version: an audited read they ask for), keep theirs on top of it, or take the other one.
 */
export function ConflictPanel({
  mount,
  path,
  creating,
  baseVersion,
  theirVersion,
  mine,
  onKeepMine,
  onTakeTheirs,
}: {
  mount: MountInfo;
  path: string;
  creating: boolean;
  baseVersion: number;
  theirVersion: number | undefined;
  mine: Record<string, unknown> | undefined;
  onKeepMine: (version: number, data: Record<string, unknown>) => void;
  onTakeTheirs: (version: number, data: Record<string, unknown>) => void;
}) {
  const [theirs, setTheirs] = useState<Theirs>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const versionText = theirVersion !== undefined ? `version ${theirVersion}` : 'a newer version';
  const load = async (): Promise<Theirs | undefined> => {
    if (theirs) return theirs;
    setBusy(true);
    setError(undefined);
    try {
      const loaded = await readTheirs(mount, path, theirVersion);
      setTheirs(loaded);
      return loaded;
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  const keys = theirs ? [...new Set([...Object.keys(theirs.data), ...Object.keys(mine ?? {})])].sort() : [];
  return (
    <div className="conflict" role="group" aria-labelledby="conflict-title">
      <p className="state-title" id="conflict-title" role="alert">
        {creating
          ? `Someone saved ${versionText} of ${mount.path}/${path} while you were writing it.`
          : `Someone saved ${versionText} while you edited (you started from version ${baseVersion}).`}
      </p>
      <p>
        Nothing was overwritten, and your edits are kept below. Reload to see their version: compare it with yours, then
        save yours on top of it or start again from theirs.
      </p>
      <div className="row">
        <Button busy={busy} onClick={() => void load()}>
          {`Compare with ${versionText}`}
        </Button>
        <Button
          variant="primary"
          disabled={busy}
          onClick={() =>
            void load().then((t) => {
              if (t) onKeepMine(t.version, t.data);
            })
          }
        >
          {`Keep my edits and save over ${versionText}`}
        </Button>
        <Button
          disabled={busy}
          onClick={() =>
            void load().then((t) => {
              if (t) onTakeTheirs(t.version, t.data);
            })
          }
        >
          {`Discard my edits and load ${versionText}`}
        </Button>
      </div>
      {error !== undefined ? <ErrorState error={error} /> : null}
      {theirs ? (
        <div className="table-wrap">
          <table className="table compare-table">
            <caption>{`Version ${theirs.version} compared with your edit`}</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">{`Version ${theirs.version}`}</th>
                <th scope="col">Your edit</th>
                <th scope="col">Difference</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => {
                const inTheirs = key in theirs.data;
                const inMine = mine !== undefined && key in mine;
                const same = inTheirs && inMine && valueText(theirs.data[key]) === valueText(mine[key]);
                return (
                  <tr key={key}>
                    <th scope="row" className="mono">
                      {key}
                    </th>
                    <td>{inTheirs ? <pre className="secret-value">{valueText(theirs.data[key])}</pre> : '—'}</td>
                    <td>{inMine ? <pre className="secret-value">{valueText(mine[key])}</pre> : '—'}</td>
                    <td>{same ? 'same' : !inTheirs ? 'only in yours' : !inMine ? 'only in theirs' : 'changed'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
