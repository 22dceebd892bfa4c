/**
 * Browser tests of the web console: a real `strongroom server` (dev mode) and Debian's Chromium driven by
 * playwright-core. No browser is ever downloaded: Chromium comes from the system (`.ci/run` installs it).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type StartServerOptions, type StartedServer } from './server-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCREENSHOT_DIR = join(ROOT, 'test-results', 'ui');
export const CHROMIUM = process.env.STRONGROOM_CHROMIUM ?? '/usr/bin/chromium';

/*
 * Flags as root in a sandbox without network: no sandbox (root), no GPU, and none of Chromium's background
 * connections (they are refused here, many at a time, and slow every start).
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
];

export interface ConsoleSession {
  server: StartedServer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** An address of the console: url('/secrets') → http://127.0.0.1:PORT/ui/secrets. */
  url(path?: string): string;
  /** Opens the login page and signs in with a token (the dev root token by default); waits for the shell. */
  signInWithToken(token?: string): Promise<void>;
  /** Saves test-results/ui/<name>.png (full page). */
  screenshot(name: string): Promise<string>;
  /** A new, empty browser context (another person) on the same server. */
  newPage(): Promise<Page>;
  /** Messages the page printed to its console, and uncaught page errors (a CSP violation shows up here). */
  consoleMessages: string[];
  close(): Promise<void>;
}

export interface OpenConsoleOptions {
  /** Use a server already started; it is not stopped by close(). */
  server?: StartedServer;
  serverOptions?: StartServerOptions;
  colorScheme?: 'light' | 'dark';
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export async function openConsole(options: OpenConsoleOptions = {}): Promise<ConsoleSession> {
  const ownsServer = options.server === undefined;
  const server = options.server ?? (await startServer(options.serverOptions));
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const consoleMessages: string[] = [];
    const makePage = async (): Promise<{ context: BrowserContext; page: Page }> => {
      const context = await browser!.newContext({
        viewport: { width: 1280, height: 860 },
        colorScheme: options.colorScheme ?? 'light',
        reducedMotion: 'reduce',
      });
      const page = await context.newPage();
      page.on('console', (msg) => consoleMessages.push(`${msg.type()}: ${msg.text()}`));
      page.on('pageerror', (err) => consoleMessages.push(`pageerror: ${err.message}`));
      page.setDefaultTimeout(10_000);
      return { context, page };
    };
    const { context, page } = await makePage();
    const url = (path = '/') => `${server.url}/ui${path.startsWith('/') ? path : `/${path}`}`;
    const session: ConsoleSession = {
      server,
      browser,
      context,
      page,
      url,
      consoleMessages,
      async signInWithToken(token = server.rootToken) {
        await page.goto(url('/login'));
        await page.getByLabel('Token').fill(token);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('navigation', { name: 'Main' }).waitFor();
      },
      async screenshot(name: string) {
        mkdirSync(SCREENSHOT_DIR, { recursive: true });
        const file = join(SCREENSHOT_DIR, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      async newPage() {
        return (await makePage()).page;
      },
      async close() {
        await browser?.close().catch(() => undefined);
        if (ownsServer) await server.stop();
      },
    };
    return session;
  } catch (err) {
    await browser?.close().catch(() => undefined);
    if (ownsServer) await server.stop();
    throw err;
  }
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core (WCAG 2.1 A and AA rules, colour contrast included) on the page as it is now. The script is
 * evaluated through the DevTools protocol, not added to the page, so the console's CSP stays in force.
 */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  // A string, evaluated in the page: the test code is compiled for Node (no DOM types).
  return page.evaluate<AxeViolation[]>(`(async () => {
    const results = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.map(String).join(' ')),
    }));
  })()`);
}
