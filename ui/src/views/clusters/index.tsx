import { Page } from '../../components/page.js';
import { Empty } from '../../components/states.js';

// Replaced by the clusters view (issue 19).
export default function ClustersPage() {
  return (
    <Page title="Clusters">
      <Empty title="This view is being built." />
    </Page>
  );
}
