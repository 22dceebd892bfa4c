import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../api/client.js';
import { serverQuery, windowOf, type AuditEntry, type Filters } from './model.js';

/** Entries per page: enough for a day of a busy path in one answer, small enough to render at once. */
export const PAGE_SIZE = 500;

export interface EntriesState {
  entries: AuditEntry[];
  /** Where the next (older) page starts; undefined when everything matching is loaded. */
  cursor: string | undefined;
  /** The time window the entries were asked for, and when (the chart's right edge for an open window). */
  window: { since?: number; until?: number };
  loadedAt: number;
  loading: boolean;
  error: unknown;
}

interface QueryAnswer {
  entries: AuditEntry[];
  next_cursor?: string;
}

/**
 * The entries matching the filters, newest first, a page at a time: the first page when the filters change,
 * older ones on `loadMore`. An answer for filters no longer shown is dropped.
 */
export function useAuditEntries(filters: Filters): EntriesState & { loadMore: () => void; reload: () => void } {
  const key = JSON.stringify(filters);
  const [state, setState] = useState<EntriesState>({
    entries: [],
    cursor: undefined,
    window: {},
    loadedAt: Date.now(),
    loading: true,
    error: undefined,
  });
  const [generation, setGeneration] = useState(0);
  const current = useRef({ key, controller: new AbortController() });

  useEffect(() => {
    const controller = new AbortController();
    current.current.controller.abort();
    current.current = { key, controller };
    const now = Date.now();
    let window: { since?: number; until?: number };
    try {
      window = windowOf(filters, now);
    } catch (error) {
      setState({ entries: [], cursor: undefined, window: {}, loadedAt: now, loading: false, error });
      return;
    }
    setState((s) => ({ ...s, loading: true, error: undefined }));
    api
      .read<QueryAnswer>('sys/audit/query', {
        query: serverQuery(filters, window, PAGE_SIZE),
        signal: controller.signal,
      })
      .then(
        (res) => {
          if (controller.signal.aborted) return;
          setState({
            entries: res.data?.entries ?? [],
            cursor: res.data?.next_cursor,
            window,
            loadedAt: now,
            loading: false,
            error: undefined,
          });
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          setState({ entries: [], cursor: undefined, window, loadedAt: now, loading: false, error });
        },
      );
    return () => controller.abort();
    // `key` stands for `filters`, a new object on every render.
  }, [key, generation]);

  const latest = useRef(state);
  latest.current = state;

  const loadMore = useCallback(() => {
    const { key: loadingKey, controller } = current.current;
    const { cursor, loading, window } = latest.current;
    if (!cursor || loading) return;
    setState((s) => ({ ...s, loading: true }));
    api
      .read<QueryAnswer>('sys/audit/query', {
        query: { ...serverQuery(filters, window, PAGE_SIZE), cursor },
        signal: controller.signal,
      })
      .then(
        (res) => {
          if (controller.signal.aborted || current.current.key !== loadingKey) return;
          setState((s) => ({
            ...s,
            entries: [...s.entries, ...(res.data?.entries ?? [])],
            cursor: res.data?.next_cursor,
            loading: false,
          }));
        },
        (error: unknown) => {
          if (!controller.signal.aborted) setState((s) => ({ ...s, loading: false, error }));
        },
      );
  }, [filters]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, loadMore, reload };
}
