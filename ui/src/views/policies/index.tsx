import { Page } from '../../components/page.js';
import { Empty } from '../../components/states.js';

// Replaced by the policies view (issue 19).
export default function PoliciesPage() {
  return (
    <Page title="Policies">
      <Empty title="This view is being built." />
    </Page>
  );
}
