import { segments, useRoute } from '../../router.js';
import { PolicyList } from './list.js';
import { NewPolicyPage, PolicyPage } from './policy-page.js';
import './policies.css';

/** /policies (the list, or a new policy with ?new=1) and /policies/<name> (editor and simulator). */
export default function PoliciesView() {
  const route = useRoute();
  const [, name] = segments(route.path);
  if (name !== undefined) return <PolicyPage key={name} name={name.toLowerCase()} />;
  if (route.query.has('new')) return <NewPolicyPage />;
  return <PolicyList />;
}
