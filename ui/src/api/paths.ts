import { ApiError } from './errors.js';

/**
 * Path segments are encoded one by one, so a secret named "a b" or "a%2Fb" reaches the server as written. A `.` or
 * `..` segment (or an empty one inside the path) is refused: the browser's URL parser would resolve it, and a path
 * taken from a link or from data would then reach another endpoint than the one the page shows (a "secret" named
 * `../sys/policies/acl/admin`). Every request goes through here, so no view can forget the check.
 */
export function encodePath(path: string): string {
  const segments = path.split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..' || (segment === '' && !last)) {
      throw new ApiError(400, [`"${path}" is not a valid path: it has an empty, "." or ".." segment`], path);
    }
  });
  return segments.map((segment) => encodeURIComponent(segment)).join('/');
}
