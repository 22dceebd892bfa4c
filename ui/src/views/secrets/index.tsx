import { useState } from 'react';
import { Page } from '../../components/page.js';
import { Empty } from '../../components/states.js';
import { Tabs } from '../../components/tabs.js';
import { segments, useRoute } from '../../router.js';
import SecretHistory from './history/index.js';

// A placeholder of the ui-history branch so its History tab can be reached at /secrets/<mount>/<path>; the secrets
// view (issue 19) replaces this file. The first segment is taken as the mount.
export default function SecretsPage() {
  const route = useRoute();
  const [tab, setTab] = useState('data');
  const [mount, ...rest] = segments(route.path).slice(1);
  const path = rest.join('/');
  if (!mount || path === '') {
    return (
      <Page title="Secrets">
        <Empty title="This view is being built." />
      </Page>
    );
  }
  return (
    <Page title={`${mount}/${path}`}>
      <Tabs
        label="Secret"
        tabs={[
          { id: 'data', label: 'Data' },
          { id: 'history', label: 'History' },
        ]}
        selected={tab}
        onSelect={setTab}
      >
        {tab === 'history' ? (
          <SecretHistory mount={mount} path={path} onChanged={() => undefined} />
        ) : (
          <Empty title="The secret's data view is being built." />
        )}
      </Tabs>
    </Page>
  );
}
