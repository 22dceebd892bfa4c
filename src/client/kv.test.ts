/**
 * KV v1/v2 path building (properties over arbitrary mounts and paths), the percent-encoding of paths, and mount
 * detection through sys/internal/ui/mounts against a local server shaped as Vault answers.
 */
import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from './errors.js';
import { createClient, type Client } from './index.js';
import {
  KvVersionError,
  describeMount,
  kvListPath,
  kvMount,
  kvPath,
  kvValueOf,
  kvValuePath,
  kvVersionOf,
  kvWriteBody,
  normalizeMount,
  relativeTo,
  type KvTree,
} from './kv.js';
import { encodePath } from './transport.js';

const TREES: KvTree[] = ['data', 'metadata', 'delete', 'undelete', 'destroy', 'rollback', 'diff', 'subkeys'];
/** A path segment: anything but '/', including the characters a URL gives meaning to. */
const segment = fc.string({
  unit: fc.constantFrom('a', 'Z', '0', '-', '_', '.', ' ', '?', '#', '%', '&', '=', '+', 'é', '密', ':', '@'),
  minLength: 1,
  maxLength: 8,
});
const relPath = fc.array(segment, { minLength: 0, maxLength: 4 }).map((parts) => parts.join('/'));
const mountName = fc
  .array(fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/), { minLength: 1, maxLength: 2 })
  .map((parts) => parts.join('/'));
const slashes = fc.stringMatching(/^\/{0,3}$/);

describe('KV paths', () => {
  it('normalizes a mount to one trailing slash and none in front, idempotently', () => {
    fc.assert(
      fc.property(mountName, slashes, slashes, (mount, before, after) => {
        const normalized = normalizeMount(`${before}${mount}${after}`);
        expect(normalized).toBe(`${mount}/`);
        expect(normalizeMount(normalized)).toBe(normalized);
      }),
    );
  });

  it('v2 puts the tree between the mount and the path; v1 uses the path as it is', () => {
    fc.assert(
      fc.property(mountName, relPath, slashes, (mount, rel, lead) => {
        const v2 = kvMount(mount, 2);
        const v1 = kvMount(`/${mount}/`, 1);
        expect(kvValuePath(v2, `${lead}${rel}`)).toBe(`${mount}/data/${rel}`);
        expect(kvListPath(v2, rel)).toBe(`${mount}/metadata/${rel}`);
        for (const tree of TREES) expect(kvPath(v2, tree, rel)).toBe(`${mount}/${tree}/${rel}`);
        expect(kvValuePath(v1, `${lead}${rel}`)).toBe(`${mount}/${rel}`);
        expect(kvListPath(v1, rel)).toBe(`${mount}/${rel}`);
        // The mount is a prefix, and what follows it is the caller's path: nothing is dropped, nothing invented.
        expect(relativeTo(v1.mount, kvValuePath(v1, rel))).toBe(rel);
        expect(relativeTo(v2.mount, kvValuePath(v2, rel))).toBe(`data/${rel}`);
      }),
    );
  });

  it('a v1 mount has no trees: asking for one is a KvVersionError naming the mount', () => {
    for (const tree of TREES) {
      expect(() => kvPath(kvMount('kv', 1), tree, 'app')).toThrow(KvVersionError);
      expect(() => kvPath(kvMount('kv', 1), tree, 'app')).toThrow(
        '"kv/" is a KV version 1 mount: it keeps no versions or metadata',
      );
    }
  });

  it('reads the value, the version and writes the body in each version’s shape', () => {
    const data = { password: 'p' };
    expect(kvValueOf(1, { data })).toEqual(data);
    expect(kvValueOf(2, { data: { data, metadata: { version: 4 } } } as never)).toEqual(data);
    expect(kvValueOf(2, { data: { data: null, metadata: { version: 4 } } } as never)).toBeNull();
    expect(kvValueOf(1, undefined)).toBeNull();
    expect(kvVersionOf({ data: { metadata: { version: 4 } } })).toBe(4);
    expect(kvVersionOf({ data: { metadata: { version: '4' } } })).toBeUndefined();
    expect(kvWriteBody(1, data)).toEqual(data);
    expect(kvWriteBody(2, data)).toEqual({ data });
  });
});

describe('path encoding', () => {
  it('encodes each segment so it decodes back to itself, keeping the slashes and the segment count', () => {
    fc.assert(
      fc.property(relPath, (path) => {
        const encoded = encodePath(path);
        expect(encoded.split('/')).toHaveLength(path.split('/').length);
        expect(encoded.split('/').map(decodeURIComponent).join('/')).toBe(path);
        // Nothing a URL gives meaning to survives unescaped: no query, no fragment, no stray '%', no space.
        expect(encoded).toMatch(/^[A-Za-z0-9\-_.!~*'()%/]*$/);
        expect(encoded.replace(/%[0-9A-F]{2}/g, '')).not.toContain('%');
      }),
    );
  });
});

describe('describeMount (sys/internal/ui/mounts)', () => {
  let server: Server;
  let client: Client;
  const asked: string[] = [];
  const mounts: Record<string, { type: string; options: Record<string, unknown> | null }> = {
    'secret/': { type: 'kv', options: { version: '2' } },
    'kv/': { type: 'kv', options: { version: '1' } },
    'old/': { type: 'kv', options: null },
    'transit/': { type: 'transit', options: null },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      asked.push(url.pathname);
      const path = decodeURIComponent(url.pathname.replace(/^\/v1\/sys\/internal\/ui\/mounts\//, ''));
      const mount = Object.keys(mounts).find((m) => `${path}/`.startsWith(m));
      res.writeHead(mount ? 200 : 404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          mount
            ? { data: { path: mount, ...mounts[mount] } }
            : {
                errors: [
                  'preflight capability check returned 403, please ensure client\'s policies grant access to the path "x/"',
                ],
              },
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = createClient({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't' });
  });
  afterAll(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('tells the mount, its type and its KV version (absent meaning 2)', async () => {
    expect(await describeMount(client, '/secret/app/db')).toMatchObject({ path: 'secret/', type: 'kv', version: 2 });
    expect(await describeMount(client, 'kv/app')).toMatchObject({ path: 'kv/', type: 'kv', version: 1 });
    expect(await describeMount(client, 'old')).toMatchObject({ path: 'old/', type: 'kv', version: 2 });
    expect(await describeMount(client, 'transit/keys/k')).toMatchObject({
      path: 'transit/',
      type: 'transit',
      version: undefined,
    });
    expect(asked[0]).toBe('/v1/sys/internal/ui/mounts/secret/app/db');
  });

  it('is a NotFoundError when nothing is mounted there', async () => {
    await expect(describeMount(client, 'nowhere/x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('relativeTo gives the path below the mount, and "" for the mount itself', () => {
    expect(relativeTo('secret/', 'secret/app/db')).toBe('app/db');
    expect(relativeTo('secret/', 'secret/')).toBe('');
    expect(relativeTo('secret/', 'secret')).toBe('');
    expect(relativeTo('secret/', 'secret/app/')).toBe('app/');
  });
});
