import { useState } from 'react';
import { api } from '../../api/client.js';
import { Button } from '../../components/button.js';
import { Async, Empty } from '../../components/states.js';
import { Table } from '../../components/table.js';
import { useApi } from '../../components/use-api.js';
import { Details, showValue } from './format.js';

interface AuthMount {
  path: string;
  type: string;
  accessor: string;
  description: string;
}

/** Where each method type lists what it signs people or workloads in as (Vault's paths). */
const ROLE_LISTS: Record<string, { path: string; noun: string }> = {
  kubernetes: { path: 'role', noun: 'Roles' },
  approle: { path: 'role', noun: 'Roles' },
  jwt: { path: 'role', noun: 'Roles' },
  oidc: { path: 'role', noun: 'Roles' },
  userpass: { path: 'users', noun: 'Users' },
  token: { path: 'roles', noun: 'Token roles' },
};

async function loadMounts(signal: AbortSignal): Promise<AuthMount[]> {
  const res = await api.read<Record<string, { type?: string; accessor?: string; description?: string }>>('sys/auth', {
    signal,
  });
  return Object.entries(res.data ?? {})
    .filter(([path, m]) => path.endsWith('/') && typeof m === 'object' && m !== null && typeof m.type === 'string')
    .map(([path, m]) => ({ path, type: m.type!, accessor: m.accessor ?? '', description: m.description ?? '' }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

export function AuthMethods() {
  const mounts = useApi(loadMounts, []);
  const [open, setOpen] = useState<AuthMount>();
  return (
    <Async state={mounts} loadingLabel="Loading auth methods…">
      {(rows) =>
        rows.length === 0 ? (
          <Empty title="No auth methods are enabled." />
        ) : (
          <>
            <Table
              caption="Enabled auth methods"
              hideCaption
              rows={rows}
              rowKey={(m) => m.path}
              columns={[
                { header: 'Path', cell: (m) => <code>{m.path}</code> },
                { header: 'Type', cell: (m) => m.type },
                { header: 'Accessor', cell: (m) => <code>{m.accessor}</code> },
                { header: 'Description', cell: (m) => m.description || <span className="muted">—</span> },
                {
                  header: 'Roles and users',
                  cell: (m) => {
                    const lists = ROLE_LISTS[m.type];
                    if (!lists) return <span className="muted">—</span>;
                    const isOpen = open?.path === m.path;
                    return (
                      <Button aria-expanded={isOpen} onClick={() => setOpen(isOpen ? undefined : m)}>
                        {isOpen ? 'Hide' : 'Show'} {lists.noun.toLowerCase()} of {m.path}
                      </Button>
                    );
                  },
                },
              ]}
            />
            {open ? <RoleList key={open.path} mount={open} /> : null}
          </>
        )
      }
    </Async>
  );
}

function RoleList({ mount }: { mount: AuthMount }) {
  const spec = ROLE_LISTS[mount.type]!;
  const base = `auth/${mount.path}${spec.path}`;
  const names = useApi((signal) => api.list(base, { signal }), [base]);
  const [selected, setSelected] = useState<string>();
  return (
    <section className="access-section card" aria-labelledby="role-list-title">
      <h2 id="role-list-title">
        {spec.noun} of <code>{mount.path}</code>
      </h2>
      <Async state={names} loadingLabel={`Loading ${spec.noun.toLowerCase()}…`}>
        {(keys) =>
          keys.length === 0 ? (
            <Empty title={`No ${spec.noun.toLowerCase()} defined on ${mount.path}.`} />
          ) : (
            <ul aria-label={`${spec.noun} of ${mount.path}`}>
              {keys.map((name) => (
                <li key={name}>
                  <button
                    type="button"
                    className="link-button"
                    aria-pressed={selected === name}
                    onClick={() => setSelected(selected === name ? undefined : name)}
                  >
                    {name}
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Async>
      {selected ? <RoleDetail key={selected} path={`${base}/${selected}`} name={selected} /> : null}
    </section>
  );
}

/** A role's configuration, read-only. Secrets never come back from these reads (Vault omits them), so all is shown. */
function RoleDetail({ path, name }: { path: string; name: string }) {
  const detail = useApi((signal) => api.read(path, { signal }), [path]);
  return (
    <div aria-live="polite">
      <h3>{name}</h3>
      <Async state={detail} loadingLabel={`Loading ${name}…`}>
        {(res) => (
          <Details
            label={`Configuration of ${name}`}
            items={Object.entries(res.data ?? {})
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => [k, showValue(v)])}
          />
        )}
      </Async>
    </div>
  );
}
