import { lazy, Suspense, useEffect, type ComponentType, type LazyExoticComponent } from 'react';
import { signOut, useSession } from './api/session.js';
import { Link, navigate, useRoute } from './router.js';
import { Loading } from './components/states.js';
import { Toasts } from './components/toast.js';
import LoginPage from './views/login/index.js';

/*
 * Each area loads on first visit, so the first page costs only React, the shell and the login form.
 */
const AREAS: Array<{ prefix: string; label: string; page: LazyExoticComponent<ComponentType> }> = [
  { prefix: '/secrets', label: 'Secrets', page: lazy(() => import('./views/secrets/index.js')) },
  { prefix: '/policies', label: 'Policies', page: lazy(() => import('./views/policies/index.js')) },
  { prefix: '/audit', label: 'Audit', page: lazy(() => import('./views/audit/index.js')) },
  { prefix: '/access', label: 'Access', page: lazy(() => import('./views/access/index.js')) },
  { prefix: '/clusters', label: 'Clusters', page: lazy(() => import('./views/clusters/index.js')) },
];

/** Pages reachable without a session: the login form and the OIDC provider's redirect back to us. */
const PUBLIC = ['/login', '/auth/'];

export function App() {
  const session = useSession();
  const route = useRoute();
  const isPublic = PUBLIC.some((p) => route.path === p || route.path.startsWith(p));

  useEffect(() => {
    if (!session && !isPublic) {
      const next =
        route.path === '/'
          ? ''
          : `?next=${encodeURIComponent(route.path + (route.query.size ? `?${route.query}` : ''))}`;
      navigate(`/login${next}`, { replace: true });
    } else if (session && route.path === '/') {
      navigate('/secrets', { replace: true });
    }
  }, [session, isPublic, route]);

  if (!session || isPublic) {
    return (
      <>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <main id="main" className="main main-public">
          <LoginPage />
        </main>
        <Toasts />
      </>
    );
  }

  const area = AREAS.find((a) => route.path === a.prefix || route.path.startsWith(`${a.prefix}/`));
  const Page = area?.page;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/secrets" className="brand" aria-label="Strongroom home">
          <span aria-hidden="true" className="brand-mark">
            ◆
          </span>{' '}
          Strongroom
        </Link>
        <nav aria-label="Main" className="nav">
          <ul>
            {AREAS.map((a) => (
              <li key={a.prefix}>
                <Link to={a.prefix} aria-current={area?.prefix === a.prefix ? 'page' : undefined}>
                  {a.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="whoami">
          <span className="whoami-name" title={`accessor ${session.accessor}`}>
            {session.displayName || 'token'}
          </span>
          <span className="whoami-policies" aria-label="Your policies">
            {[...new Set([...session.policies, ...session.identityPolicies])].join(', ') || 'no policies'}
          </span>
          <button type="button" className="btn btn-ghost" onClick={() => void signOut().then(() => navigate('/login'))}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          {Page ? (
            <Page />
          ) : (
            <div className="state state-empty">
              <p className="state-title">No such page</p>
              <p>
                <Link to="/secrets">Go to secrets</Link>
              </p>
            </div>
          )}
        </Suspense>
      </main>
      <Toasts />
    </div>
  );
}
