import { Empty } from '../../../components/states.js';

export interface SecretHistoryProps {
  /** The mount without its trailing slash, e.g. 'secret'. */
  mount: string;
  /** The secret's path inside the mount, e.g. 'app/db'. */
  path: string;
  /** Asks the secret page to reload its current version (after a rollback or undelete). */
  onChanged: () => void;
}

// The contract between the secret page and its History tab; the tab itself is being built (issue 19).
export default function SecretHistory({ mount, path }: SecretHistoryProps) {
  return <Empty title={`History of ${mount}/${path}`} />;
}
