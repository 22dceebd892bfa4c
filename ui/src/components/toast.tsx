import { useSyncExternalStore } from 'react';

export interface Toast {
  id: number;
  kind: 'success' | 'error' | 'info';
  message: string;
}

let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function emit(next: Toast[]): void {
  toasts = next;
  for (const l of listeners) l();
}

/** A short message announced to screen readers; errors stay until dismissed, the rest fade after 6 s. */
export function notify(message: string, kind: Toast['kind'] = 'success'): void {
  const toast = { id: nextId++, kind, message };
  emit([...toasts, toast].slice(-4));
  if (kind !== 'error') setTimeout(() => dismiss(toast.id), 6000);
}

export function dismiss(id: number): void {
  emit(toasts.filter((t) => t.id !== id));
}

export function Toasts() {
  const list = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => toasts,
  );
  return (
    <div className="toasts" aria-live="polite" aria-relevant="additions">
      {list.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <span>{t.message}</span>
          <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
