import type { ReactNode } from 'react';
import { ApiError } from '../api/client.js';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children ? <div className="state-hint">{children}</div> : null}
    </div>
  );
}

/**
 * An error in words a person can act on. A 403 is "permission denied" with the path, and nothing else: no partial
 * data is ever shown next to it.
 */
export function ErrorState({ error, action }: { error: unknown; action?: ReactNode }) {
  if (error instanceof ApiError && error.permissionDenied) {
    return (
      <div className="state state-error" role="alert">
        <p className="state-title">Permission denied</p>
        <p>
          Your token may not use <code>{error.path}</code>. Ask an administrator for a policy that grants it, or sign in
          with another identity.
        </p>
        {action}
      </div>
    );
  }
  const message =
    error instanceof ApiError
      ? error.errors.length > 0
        ? error.errors.join('; ')
        : `The server answered ${error.status}.`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">
        {error instanceof ApiError && error.notFound ? 'Not found' : 'Something went wrong'}
      </p>
      <p>{message}</p>
      {action}
    </div>
  );
}

/** Loading, error or the content: the three states every view has. */
export function Async<T>({
  state,
  children,
  loadingLabel,
}: {
  state: { data: T | undefined; error: unknown; loading: boolean };
  children: (data: T) => ReactNode;
  loadingLabel?: string;
}) {
  if (state.error !== undefined) return <ErrorState error={state.error} />;
  if (state.data === undefined) return <Loading {...(loadingLabel ? { label: loadingLabel } : {})} />;
  return <>{children(state.data)}</>;
}
