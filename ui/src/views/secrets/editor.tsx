import { useMemo, useState, type FormEvent } from 'react';
import { Page } from '../../components/page.js';
import { Button } from '../../components/button.js';
import { ErrorState, Loading } from '../../components/states.js';
import { TextField } from '../../components/field.js';
import { useApi } from '../../components/use-api.js';
import { notify } from '../../components/toast.js';
import { api, ApiError } from '../../api/client.js';
import { navigate, useRoute } from '../../router.js';
import { consolePath, isCasConflict, kvPath, parseSecretJson, secretPathProblem, type MountInfo } from './kv.js';
import { Breadcrumbs } from './breadcrumbs.js';
import { RowsEditor } from './rows-editor.js';
import { dataToRows, newRow, rowProblems, rowsToData, type Row } from './rows.js';
import { ConflictPanel, currentVersionOf } from './conflict.js';

async function existsInV1(mount: MountInfo, path: string): Promise<boolean> {
  const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
  try {
    return (await api.list(`${mount.path}/${parent}`)).includes(path.slice(parent.length));
  } catch {
    // Not allowed to list: the write itself is all that can be tried.
    return false;
  }
}

interface Base {
  /** The version the edit started from: sent as options.cas (0 for a new secret: "must not exist yet"). */
  version: number;
  data: Record<string, unknown>;
}

/**
 * Creates a secret in `folder`, or edits the one at `path`. Editing reads the current value first (an audited read;
 * the page says so), and saves with check-and-set on the version it read, so a save made meanwhile by someone else is
 * refused instead of overwritten.
 */
export function SecretEditor({ mount, folder, path }: { mount: MountInfo; folder?: string; path?: string }) {
  const place = path === undefined ? undefined : `${mount.path}/${path}`;
  // Opened by the page's Edit button: read at once. Opened from an address (a link someone sent, a reload), the
  // read of every value waits for a click, as a Reveal does: a link must not be enough to put values on screen.
  const [confirmed, setConfirmed] = useState(() => place === undefined || takeEditIntent(place));
  if (!confirmed && path !== undefined) {
    return (
      <Page title={`Edit ${mount.path}/${path}`}>
        <Breadcrumbs mount={mount} path={path} />
        <p className="notice">
          Editing shows every value of this secret: it reads the current version (a read recorded in the audit log).
        </p>
        <div className="row">
          <Button variant="primary" onClick={() => setConfirmed(true)}>
            Read the values and edit
          </Button>
          <Button onClick={() => navigate(consolePath(mount.path, path))}>Cancel</Button>
        </div>
      </Page>
    );
  }
  return (
    <EditorLoader
      mount={mount}
      {...(folder !== undefined ? { folder } : {})}
      {...(path !== undefined ? { path } : {})}
    />
  );
}

let editIntent: string | undefined;

/** The secret page's Edit button says "this person asked to edit this secret" before it navigates. */
export function intendToEdit(place: string): void {
  editIntent = place;
}

function takeEditIntent(place: string): boolean {
  const intended = editIntent === place;
  editIntent = undefined;
  return intended;
}

function EditorLoader({ mount, folder, path }: { mount: MountInfo; folder?: string; path?: string }) {
  const state = useApi(
    async (signal): Promise<Base> => {
      if (path === undefined) return { version: 0, data: {} };
      if (mount.kvVersion === 1) {
        const res = await api.read<Record<string, unknown>>(kvPath(mount, 'data', path), { signal });
        return { version: 0, data: res.data ?? {} };
      }
      const res = await api.read<{ data: Record<string, unknown>; metadata: { version: number } }>(
        kvPath(mount, 'data', path),
        { signal },
      );
      return { version: res.data.metadata.version, data: res.data.data ?? {} };
    },
    [mount.path, path],
  );
  const place = path ?? folder ?? '';
  const title = path === undefined ? `New secret in ${mount.path}/${folder ?? ''}` : `Edit ${mount.path}/${path}`;
  return (
    <Page title={title}>
      <Breadcrumbs mount={mount} path={place} />
      {path !== undefined ? (
        <p className="notice">
          {mount.kvVersion === 2
            ? 'Editing reads the current value of this secret (a read recorded in the audit log) and saves a new version.'
            : 'Editing reads the current value of this secret (a read recorded in the audit log). KV version 1 keeps no versions: saving replaces it, and the last save wins.'}
        </p>
      ) : null}
      {state.error !== undefined ? (
        <ErrorState error={state.error} />
      ) : !state.data ? (
        <Loading label="Reading the current value…" />
      ) : (
        <EditorForm
          key={String(state.data.version)}
          mount={mount}
          folder={folder ?? ''}
          path={path}
          base={state.data}
        />
      )}
    </Page>
  );
}

function EditorForm({
  mount,
  folder,
  path,
  base: initialBase,
}: {
  mount: MountInfo;
  folder: string;
  path: string | undefined;
  base: Base;
}) {
  const route = useRoute();
  const creating = path === undefined;
  const [base, setBase] = useState(initialBase);
  const initialRows = dataToRows(initialBase.data);
  const [mode, setMode] = useState<'rows' | 'json'>('rows' in initialRows ? 'rows' : 'json');
  const [rows, setRows] = useState<Row[]>('rows' in initialRows ? initialRows.rows : [newRow()]);
  const [json, setJson] = useState(() => JSON.stringify(initialBase.data, null, 2));
  const [name, setName] = useState(() => `${folder}${route.query.get('name') ?? ''}`);
  const [modeProblem, setModeProblem] = useState<string>();
  const [pathProblem, setPathProblem] = useState<string>();
  const [showRowProblems, setShowRowProblems] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>();
  const [conflict, setConflict] = useState<{ version: number | undefined }>();

  const problems = useMemo(() => rowProblems(rows), [rows]);
  const jsonResult = useMemo(() => (mode === 'json' ? parseSecretJson(json) : undefined), [mode, json]);
  const [jsonTouched, setJsonTouched] = useState(false);

  const currentData = (): Record<string, unknown> | undefined => {
    if (mode === 'rows') return problems.size > 0 ? undefined : rowsToData(rows);
    return jsonResult && 'data' in jsonResult ? jsonResult.data : undefined;
  };

  const switchTo = (next: 'rows' | 'json') => {
    if (next === mode) return;
    setModeProblem(undefined);
    if (next === 'json') {
      if (problems.size > 0) {
        setShowRowProblems(true);
        return setModeProblem('Fix the rows marked below before switching to JSON.');
      }
      setJson(JSON.stringify(rowsToData(rows), null, 2));
      setJsonTouched(false);
      return setMode('json');
    }
    const parsed = parseSecretJson(json);
    if ('problem' in parsed) return setModeProblem(`The JSON cannot become rows: ${parsed.problem.message}.`);
    const converted = dataToRows(parsed.data);
    if ('nonText' in converted) {
      return setModeProblem(`Values that are not text (${converted.nonText.join(', ')}) can only be edited as JSON.`);
    }
    setRows(converted.rows);
    setMode('rows');
  };

  const secretPath = creating ? name.trim() : path;
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setSaveError(undefined);
    if (creating) {
      const problem = secretPathProblem(name.trim());
      setPathProblem(problem);
      if (problem) return;
    }
    setShowRowProblems(true);
    setJsonTouched(true);
    const data = currentData();
    if (!data || Object.keys(data).length === 0) {
      if (data) setModeProblem('A secret needs at least one key.');
      return;
    }
    setSaving(true);
    try {
      let savedVersion: number | undefined;
      if (mount.kvVersion === 1) {
        // KV v1 has no check-and-set: a new secret must not silently replace one already there. The folder's listing
        // says so without reading anyone's values.
        if (creating && (await existsInV1(mount, secretPath!))) {
          setPathProblem('A secret already exists at this path: open it to edit it.');
          return;
        }
        await api.write(kvPath(mount, 'data', secretPath!), data);
      } else {
        const res = await api.write<{ version: number }>(kvPath(mount, 'data', secretPath!), {
          data,
          options: { cas: base.version },
        });
        savedVersion = res.data?.version;
      }
      setConflict(undefined);
      notify(
        savedVersion !== undefined
          ? `Saved version ${savedVersion} of ${mount.path}/${secretPath}`
          : `Saved ${mount.path}/${secretPath}`,
      );
      navigate(consolePath(mount.path, secretPath!));
    } catch (err) {
      if (isCasConflict(err)) {
        setConflict({ version: await currentVersionOf(mount, secretPath!) });
      } else {
        setSaveError(err);
      }
    } finally {
      setSaving(false);
    }
  };

  const cancelTo = creating ? consolePath(mount.path, folder) : consolePath(mount.path, path);
  const jsonProblem = jsonResult && 'problem' in jsonResult && jsonTouched ? jsonResult.problem : undefined;
  return (
    <form className="editor" onSubmit={(e) => void save(e)} noValidate aria-label="Secret editor">
      {creating ? (
        <TextField
          label="Path"
          value={name}
          spellCheck={false}
          autoComplete="off"
          hint={`Inside ${mount.path}/ — folders are separated by “/”.`}
          error={pathProblem}
          onChange={(e) => {
            setName(e.target.value);
            if (pathProblem) setPathProblem(secretPathProblem(e.target.value.trim()));
          }}
        />
      ) : (
        <p className="muted">{mount.kvVersion === 2 ? `Starting from version ${base.version}.` : null}</p>
      )}
      {conflict ? (
        <ConflictPanel
          mount={mount}
          path={secretPath!}
          creating={creating}
          baseVersion={base.version}
          theirVersion={conflict.version}
          mine={currentData()}
          onKeepMine={(version, data) => {
            // Save on top of their version next time: the person has seen what changed and keeps their edit.
            setBase({ version, data });
            setConflict(undefined);
          }}
          onTakeTheirs={(version, data) => {
            setBase({ version, data });
            const converted = dataToRows(data);
            if ('rows' in converted) {
              setRows(converted.rows);
              setMode('rows');
            } else setMode('json');
            setJson(JSON.stringify(data, null, 2));
            setConflict(undefined);
          }}
        />
      ) : null}
      <div className="editor-mode" role="group" aria-label="Edit as">
        <Button aria-pressed={mode === 'rows'} onClick={() => switchTo('rows')}>
          Key/value rows
        </Button>
        <Button aria-pressed={mode === 'json'} onClick={() => switchTo('json')}>
          JSON
        </Button>
      </div>
      {modeProblem ? (
        <p className="form-error" role="alert">
          {modeProblem}
        </p>
      ) : null}
      {mode === 'rows' ? (
        <RowsEditor
          rows={rows}
          problems={showRowProblems ? problems : new Map()}
          onChange={(next) => {
            setRows(next);
            setModeProblem(undefined);
          }}
        />
      ) : (
        <div className={`field${jsonProblem ? ' field-invalid' : ''}`}>
          <label htmlFor="secret-json">Secret as JSON</label>
          <textarea
            id="secret-json"
            className="json-editor"
            value={json}
            spellCheck={false}
            autoComplete="off"
            rows={Math.min(24, Math.max(6, json.split('\n').length + 1))}
            aria-invalid={jsonProblem ? true : undefined}
            aria-describedby={jsonProblem ? 'secret-json-error' : undefined}
            onChange={(e) => setJson(e.target.value)}
            onBlur={() => setJsonTouched(true)}
          />
          {jsonProblem ? (
            <p className="field-error" id="secret-json-error" role="alert">
              Invalid JSON: {jsonProblem.message}.
            </p>
          ) : null}
        </div>
      )}
      {saveError !== undefined ? (
        saveError instanceof ApiError && saveError.status === 400 ? (
          <p className="form-error" role="alert">
            The server refused the secret: {saveError.errors.join('; ') || 'bad request'}.
          </p>
        ) : (
          <ErrorState error={saveError} />
        )
      ) : null}
      <div className="editor-actions">
        <Button type="submit" variant="primary" busy={saving}>
          Save
        </Button>
        <Button onClick={() => navigate(cancelTo)}>Cancel</Button>
      </div>
    </form>
  );
}
