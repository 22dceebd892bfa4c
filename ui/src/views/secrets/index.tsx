/**
 * The secrets area: /secrets lists the mounts; /secrets/<mount>/<folder>/ browses a folder (a trailing '/' marks a
 * folder, as in Vault); /secrets/<mount>/<path> is a secret's page. Which part of the address is the mount is the
 * server's answer (sys/internal/ui/mounts), so mounts nested below others ('team/kv/') work as well.
 */
import { useRoute } from '../../router.js';
import { MountsPage } from './mounts.js';
import { MountRoute } from './mount-route.js';
import './secrets.css';

export default function SecretsPage() {
  const route = useRoute();
  const rest = route.path.replace(/^\/secrets\/?/, '');
  if (rest === '') return <MountsPage />;
  const place = decodePlace(rest);
  return <MountRoute place={place} query={route.query} />;
}

export interface Place {
  /** The decoded path below /secrets, without a trailing slash: 'secret/app/db'. */
  path: string;
  /** The address ended with '/' (or named only a mount): a folder. */
  folder: boolean;
}

function decodePlace(raw: string): Place {
  const parts = raw
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { path: parts.join('/'), folder: raw.endsWith('/') || parts.length <= 1 };
}
