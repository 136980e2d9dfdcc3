import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '../../support/rig';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.join(repoRoot, 'services', 'portal', 'screenshots');
export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Debian's Chromium (deploy/local/lib/chromium.sh installs it), headless with the flags of
 * shared/RIG.md; Playwright gives each launch a fresh temporary profile (user data dir).
 */
export async function launchChromium(opts: { niceness?: number } = {}): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: run \`npm run stack:up\` (deploy/local/lib/chromium.sh installs it)`,
    );
  return chromium.launch({
    executablePath: opts.niceness === undefined ? CHROMIUM : nicedChromium(opts.niceness),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // The hard network rule: no name is ever resolved (no DNS query leaves the machine); only
      // loopback addresses, which need no resolving, are reachable.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
    timeout: 30_000,
  });
}

/**
 * Chromium under `nice -n <niceness>` (every process it starts inherits it): for a measurement of
 * the page's own main-thread tasks that the test machine's other work (the platform under test,
 * other test files, on two cores) must not stretch. Negative values need root, as the rig has.
 */
function nicedChromium(niceness: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-nice-'));
  const wrapper = path.join(dir, 'chromium');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec nice -n ${Math.trunc(niceness)} ${CHROMIUM} "$@"\n`, {
    mode: 0o755,
  });
  return wrapper;
}

/**
 * A context per user (its own sessionStorage), in UTC so that calendar times are the same on any
 * machine. `bypassCSP` lets axe-core be injected into pages whose CSP forbids inline scripts.
 */
export async function newContext(browser: Browser, viewport = LAPTOP): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, timezoneId: 'UTC', locale: 'en-GB', bypassCSP: true });
  // And nothing but loopback is even requested (oidc-provider's login page imports a web font).
  await context.route(
    (url) => !isLoopback(url),
    (route) => route.abort('blockedbyclient'),
  );
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

const isLoopback = (url: URL) =>
  url.protocol === 'data:' ||
  url.protocol === 'blob:' ||
  url.protocol === 'about:' ||
  /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/.test(url.hostname);

/**
 * Collects what the page logs as errors (CSP violations included), so a test can assert there were
 * none; with `origin`, only while the page shows that origin (not an identity provider's pages).
 */
export function watchErrors(page: Page, origin?: string): string[] {
  const errors: string[] = [];
  const mine = () => !origin || page.url().startsWith(origin);
  page.on('pageerror', (e) => {
    if (mine()) errors.push(`pageerror: ${e.message}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && mine()) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Signs in on the embedded default's local sign-in page. */
export async function signInLocal(
  page: Page,
  base: string,
  user: string,
  role: 'user' | 'operator' = 'user',
  next = '/nodes',
) {
  await page.goto(`${base}/signin?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Role').selectOption(role);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-user').filter({ hasText: user }).waitFor();
}

/** A PNG of the page into services/portal/screenshots (kept small: the viewport, not the whole page, unless asked). */
export async function screenshot(
  page: Page,
  name: string,
  opts: { fullPage?: boolean } = {},
): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? false, animations: 'disabled' });
  return file;
}
