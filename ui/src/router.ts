/**
 * A small history router for paths below /ui (the server answers index.html for every /ui/* page). Enough for the
 * console's handful of pages; no dependency, no hash URLs.
 */
import { createElement, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

export const BASE = '/ui';

export interface Route {
  /** The path below /ui, always starting with '/', e.g. '/secrets/secret/app/db'. */
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();
let snapshot = read();

function read(): Route {
  const raw = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '/';
  return { path: raw === '' ? '/' : raw, query: new URLSearchParams(window.location.search) };
}

function changed(): void {
  const next = read();
  if (next.path === snapshot.path && next.query.toString() === snapshot.query.toString()) return;
  snapshot = next;
  for (const listener of listeners) listener();
}

window.addEventListener('popstate', changed);

export function useRoute(): Route {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => snapshot,
  );
}

/** `to` is below /ui ('/secrets?x=1'). */
export function href(to: string): string {
  return `${BASE}${to.startsWith('/') ? to : `/${to}`}`;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = href(to);
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  changed();
}

/** Replaces the query string of the current page (filters), keeping the path. Empty values are dropped. */
export function setQuery(values: Record<string, string | undefined>, options: { replace?: boolean } = {}): void {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) query.set(key, value);
  const search = query.toString();
  navigate(`${snapshot.path}${search ? `?${search}` : ''}`, options);
}

/** Splits a path into its decoded segments: '/secrets/secret/a%20b' → ['secrets', 'secret', 'a b']. */
export function segments(path: string): string[] {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

/** Joins decoded segments into a path below /ui, encoding each. */
export function pathOf(...parts: string[]): string {
  return `/${parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p !== '')
    .map(encodeURIComponent)
    .join('/')}`;
}

export interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  to: string;
  children?: ReactNode;
}

/** A real link (middle-click and copy work), navigating in place on a plain click. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  return createElement('a', {
    ...rest,
    href: href(to),
    onClick: (event: MouseEvent<HTMLAnchorElement>) => {
      onClick?.(event);
      if (
        event.defaultPrevented ||
        event.button !== 0 ||
        event.metaKey ||
        event.ctrlKey ||
        event.shiftKey ||
        event.altKey
      )
        return;
      event.preventDefault();
      navigate(to);
    },
  });
}
