/**
 * The audit log answers only to sudo: a clear statement of what is missing and the policy that grants it, in place
 * of the data (nothing partial is shown).
 */
export function NeedsSudo({ path }: { path: string }) {
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">This needs sudo on {path}</p>
      <p>
        The audit log is for auditors: your token may not read <code>{path}</code> with the <code>sudo</code>{' '}
        capability. A policy such as this one grants it:
      </p>
      <pre className="audit-policy">{`path "${path}" { capabilities = ["read", "sudo"] }`}</pre>
    </div>
  );
}
