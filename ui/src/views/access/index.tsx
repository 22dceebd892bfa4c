import { Page } from '../../components/page.js';
import { Empty } from '../../components/states.js';

// Replaced by the access view (issue 19).
export default function AccessPage() {
  return (
    <Page title="Access">
      <Empty title="This view is being built." />
    </Page>
  );
}
