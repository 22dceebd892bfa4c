import { Link } from '../../router.js';
import { consolePath, type MountInfo } from './kv.js';

/**
 * Secrets › mount › folders › the current place. `path` is inside the mount; a folder ends with '/'. Without a mount
 * (it could not be found) the whole path is shown as text.
 */
export function Breadcrumbs({ mount, path }: { mount: MountInfo | undefined; path: string }) {
  const parts = path.split('/').filter((p) => p !== '');
  const crumbs: Array<{ label: string; to?: string }> = [{ label: 'Secrets', to: '/secrets' }];
  if (mount) {
    crumbs.push({ label: `${mount.path}/`, to: consolePath(mount.path, '') });
    parts.forEach((part, i) => {
      const isLast = i === parts.length - 1;
      const folder = `${parts.slice(0, i + 1).join('/')}/`;
      crumbs.push(
        isLast && !path.endsWith('/') ? { label: part } : { label: `${part}/`, to: consolePath(mount.path, folder) },
      );
    });
  } else if (path) {
    crumbs.push({ label: path });
  }
  return (
    <nav aria-label="Breadcrumb" className="breadcrumbs">
      <ol>
        {crumbs.map((crumb, i) => {
          const current = i === crumbs.length - 1;
          return (
            <li key={`${i}-${crumb.label}`}>
              {crumb.to && !current ? (
                <Link to={crumb.to}>{crumb.label}</Link>
              ) : (
                <span aria-current={current ? 'page' : undefined}>{crumb.label}</span>
              )}
            </li>
          );
        })}
      </ol>
    </nav>
  );
}
