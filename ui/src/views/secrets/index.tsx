import { Page } from '../../components/page.js';
import { Empty } from '../../components/states.js';

// Replaced by the secrets view (issue 19).
export default function SecretsPage() {
  return (
    <Page title="Secrets">
      <Empty title="This view is being built." />
    </Page>
  );
}
