import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, registerConsole } from './console.js';

let dir: string;
let app: FastifyInstance;

/** A console build on disk: a page and a hashed script, large enough to be worth compressing. */
function consoleBuild(): { script: string } {
  dir = mkdtempSync(join(tmpdir(), 'sr-console-'));
  mkdirSync(join(dir, 'assets'));
  const script = `console.log(${JSON.stringify('x'.repeat(4000))});\n`.repeat(3);
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script src="/ui/assets/app-1.js"></script>');
  writeFileSync(join(dir, 'assets', 'app-1.js'), script);
  app = Fastify();
  registerConsole(app, dir);
  return { script };
}

afterEach(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('web console assets', () => {
  it('answers gzip when asked, the same bytes to every request (concurrent first ones too), identity otherwise', async () => {
    const { script } = consoleBuild();
    const ask = () =>
      app.inject({ method: 'GET', url: '/ui/assets/app-1.js', headers: { 'accept-encoding': 'gzip, br' } });
    const [first, second] = await Promise.all([ask(), ask()]);
    const third = await ask();
    for (const res of [first, second, third]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(gunzipSync(res.rawPayload).toString('utf8')).toBe(script);
    }
    expect(third.rawPayload.length).toBeLessThan(script.length / 10);
    expect(second.rawPayload.equals(first.rawPayload) && third.rawPayload.equals(first.rawPayload)).toBe(true);

    const plain = await app.inject({ method: 'GET', url: '/ui/assets/app-1.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(script);
  });

  it('answers 304 to a matching etag without compressing, and 404 for an unknown asset', async () => {
    consoleBuild();
    const first = await app.inject({ method: 'GET', url: '/ui/assets/app-1.js' });
    const again = await app.inject({
      method: 'GET',
      url: '/ui/assets/app-1.js',
      headers: { 'accept-encoding': 'gzip', 'if-none-match': String(first.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    const missing = await app.inject({ method: 'GET', url: '/ui/assets/gone-2.js' });
    expect(missing.statusCode).toBe(404);
  });
});
