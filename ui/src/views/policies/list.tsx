import { Button } from '../../components/button.js';
import { Page } from '../../components/page.js';
import { Empty, ErrorState, Loading } from '../../components/states.js';
import { Table } from '../../components/table.js';
import { useApi } from '../../components/use-api.js';
import { Link, navigate, pathOf } from '../../router.js';
import { listPolicies } from './api.js';
import { Simulator } from './simulator.js';

const BUILT_IN: Record<string, string> = {
  root: 'built in: grants everything, cannot be changed',
  default: 'built in: given to every token unless asked otherwise; can be edited, not deleted',
};

/** Every ACL policy, and the simulator for tokens (one's own or another's). */
export function PolicyList() {
  const policies = useApi((signal) => listPolicies(signal), []);
  return (
    <Page
      title="Policies"
      subtitle="ACL policies decide what each token may do, path by path."
      actions={
        <Button variant="primary" onClick={() => navigate('/policies?new=1')}>
          New policy
        </Button>
      }
    >
      {policies.error !== undefined ? (
        <ErrorState error={policies.error} />
      ) : policies.data === undefined ? (
        <Loading label="Loading policies…" />
      ) : policies.data.length === 0 ? (
        <Empty title="No policies yet.">Create one with “New policy”.</Empty>
      ) : (
        <Table
          caption="ACL policies"
          hideCaption
          rows={policies.data}
          rowKey={(name) => name}
          columns={[
            { header: 'Name', cell: (name) => <Link to={pathOf('policies', name)}>{name}</Link> },
            { header: 'Notes', cell: (name) => <span className="muted">{BUILT_IN[name] ?? ''}</span> },
          ]}
        />
      )}
      <div className="policy-list-simulator">
        <Simulator />
      </div>
    </Page>
  );
}
