import { Page } from '../../components/page.js';
import { Tabs } from '../../components/tabs.js';
import { setQuery, useRoute } from '../../router.js';
import { AuthMethods } from './auth-methods.js';
import { Leases } from './leases.js';
import { Tokens } from './tokens.js';
import './access.css';

const TABS = [
  { id: 'methods', label: 'Auth methods' },
  { id: 'tokens', label: 'Tokens' },
  { id: 'leases', label: 'Leases' },
];

/** Who can get in and with what: auth methods and their roles, tokens by accessor, and the leases they hold. */
export default function AccessPage() {
  const route = useRoute();
  const requested = route.query.get('tab');
  const tab = TABS.some((t) => t.id === requested) ? requested! : 'methods';
  return (
    <Page title="Access" subtitle="Auth methods and their roles, tokens by accessor, leases of dynamic credentials.">
      <Tabs label="Access" tabs={TABS} selected={tab} onSelect={(id) => setQuery({ tab: id }, { replace: true })}>
        {tab === 'methods' ? <AuthMethods /> : null}
        {tab === 'tokens' ? <Tokens /> : null}
        {tab === 'leases' ? <Leases /> : null}
      </Tabs>
    </Page>
  );
}
