import { Page } from '../../components/page.js';
import { Empty } from '../../components/states.js';

// Replaced by the audit view (issue 19).
export default function AuditPage() {
  return (
    <Page title="Audit">
      <Empty title="This view is being built." />
    </Page>
  );
}
