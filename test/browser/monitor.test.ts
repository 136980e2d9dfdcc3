/**
 * The monitor page in Chromium against the platform with the rig's real daemons and the whole
 * stats pipeline: a node agent per node reading the real cgroups, the stats ingest, the live
 * stream. A container that starts burning CPU shows a rising figure; the total charts change at
 * least twice within 10 s; stopping a container from its row changes its state; its history over
 * 1 h, 24 h and 7 days. Addresses 10.64.99.180-189 (172.10.0.180-189) belong to this file alone.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { until } from './support/platform';
import { setUpBrowserPlatform } from './support/browser-platform';
import { LAPTOP, PHONE, newContext, screenshot, signInLocal, watchErrors } from './support/browser';
import { horizontalOverflow, seriousViolations } from './support/page-checks';

jest.setTimeout(300_000);

const user = `dan-${randomBytes(3).toString('hex')}`;
const burner = `burn${randomBytes(2).toString('hex')}`;
const idle = `idle${randomBytes(2).toString('hex')}`;
const ids: Record<string, string> = {};

const rig = setUpBrowserPlatform({
  name: 'portal-monitor',
  range: '10.64.99.180-10.64.99.189',
  secondaryRange: '172.10.0.180-172.10.0.189',
  nodes: ['node2', 'node3'],
  agents: true,
  beforeStop: async (platform) => {
    for (const id of Object.values(ids))
      await platform.call(user, 'user', `/v1/containers/${id}?force=true`, { method: 'DELETE' });
  },
});

async function create(name: string, node: string, command: string[], cpuMillis: number): Promise<string> {
  const res = await rig.platform.call(user, 'user', '/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    body: JSON.stringify({ node, name, image: 'testbed/busybox', cpuMillis, command }),
  });
  const op = (await res.json()) as { state: string; items: { containerId: string }[]; error: unknown };
  if (op.state !== 'succeeded') throw new Error(`creating ${name}: ${JSON.stringify(op)}`);
  return op.items[0]!.containerId;
}

beforeAll(async () => {
  // Idle for its first seconds, then burns half a core (its limit): the figure rises while watched.
  ids[burner] = await create(burner, 'node2', ['sh', '-c', 'sleep 8; while :; do :; done'], 500);
  ids[idle] = await create(idle, 'node3', ['sleep', '3600'], 100);
}, 180_000);

const row = (page: Page, name: string) =>
  page.locator(`.monitor-table tbody tr:has(th button:text-is("${name}"))`);
const cellText = async (page: Page, name: string, cls: string) =>
  ((await row(page, name).locator(`.${cls}`).textContent()) ?? '').trim();
const percentOf = (text: string) =>
  /^(\d+(\.\d+)?) %/.exec(text) ? Number(/^(\d+(\.\d+)?)/.exec(text)![1]) : null;

test('a burning container shows a rising CPU figure, the totals chart moves every few seconds, a row stops its container', async () => {
  const page = await (await newContext(rig.browser, LAPTOP)).newPage();
  const errors = watchErrors(page);
  await signInLocal(page, rig.platform.url, user, 'user', '/monitor');
  await page
    .getByTestId('stream-status')
    .filter({ hasText: 'Live stream: open' })
    .waitFor({ timeout: 30_000 });
  await row(page, burner).waitFor({ timeout: 30_000 });
  await row(page, idle).waitFor({ timeout: 30_000 });
  expect(await cellText(page, burner, 'm-node')).toBe('node2');
  expect(await cellText(page, idle, 'm-node')).toBe('node3');
  expect(await cellText(page, burner, 'm-id')).toMatch(/^[0-9a-f]{12}$/);

  // The burner's CPU: low (or not yet known) first, then up to about its limit of half a core.
  const seen: (number | null)[] = [];
  await until(
    async () => {
      seen.push(percentOf(await cellText(page, burner, 'm-v')));
      return (seen.at(-1) ?? 0) >= 25;
    },
    60_000,
    `${burner}'s CPU to rise`,
  );
  const low = seen.filter((v) => v !== null && v < 5);
  expect(seen.some((v) => v === null) || low.length > 0).toBe(true);
  const high = seen.at(-1)!;
  expect(high).toBeGreaterThanOrEqual(25);
  expect(high).toBeLessThan(80); // its limit: half a core
  // As a share of its limit, close to all of it.
  expect(percentOf(await cellText(page, burner, 'm-cpul'))).toBeGreaterThan(50);
  expect(percentOf(await cellText(page, idle, 'm-v'))).toBeLessThan(5);
  expect(await cellText(page, burner, 'm-mem')).toMatch(/\d (B|KiB|MiB)$/);

  // The total charts: updated in place at least twice within 10 s, their pictures changing.
  const updates = async () => Number(await page.getByTestId('total-cpu').getAttribute('data-updates'));
  const picture = () =>
    page
      .getByTestId('total-cpu')
      .locator('canvas')
      .evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL());
  const before = await updates();
  const pictures = [await picture()];
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000 && (await updates()) < before + 2) await page.waitForTimeout(250);
  pictures.push(await picture());
  expect(await updates()).toBeGreaterThanOrEqual(before + 2);
  expect(Date.now() - t0).toBeLessThanOrEqual(10_000);
  expect(pictures[1]).not.toBe(pictures[0]);
  expect(percentOf((await page.getByTestId('total-cpu-value').textContent()) ?? '')).toBeGreaterThanOrEqual(
    25,
  );
  expect(await page.locator('.node-figures li').allTextContents()).toEqual(
    expect.arrayContaining([expect.stringMatching(/^node2: /), expect.stringMatching(/^node3: /)]),
  );
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, 'monitor');

  // Sort by CPU (descending first): the burner leads.
  await page.getByRole('button', { name: 'CPU', exact: true }).click();
  await until(
    async () =>
      (await page.locator('.monitor-table tbody tr:not([hidden]) th').first().textContent()) === burner,
    10_000,
    'the burner first',
  );
  expect(await page.locator('th.m-cpu').getAttribute('aria-sort')).toBe('descending');
  // Filter by name: only the idle one.
  await page.getByLabel('Filter').fill(idle);
  await until(
    async () => (await row(page, burner).isHidden()) && (await row(page, idle).isVisible()),
    5000,
    'the filter',
  );
  await page.getByLabel('Filter').fill('');

  // Its history (1 h, 24 h, 7 days) with figures as a share of its limit.
  await row(page, burner).locator('th button').click();
  const history = page.locator('.history');
  await history.getByRole('heading', { name: `History of ${burner}` }).waitFor();
  await until(
    async () => /^[1-9]\d* points/.test((await history.getByTestId('history-summary').textContent()) ?? ''),
    30_000,
    'history points',
  );
  expect(await history.getByTestId('history-summary').textContent()).toMatch(
    /raw samples.*CPU limit 50 % of a core/,
  );
  expect(await history.locator('tbody tr').first().textContent()).toMatch(/CPU.*%/);
  await screenshot(page, 'monitor-history', { fullPage: true });
  for (const range of ['24 hours', '7 days']) {
    await history.getByRole('radio', { name: range }).check();
    await until(
      async () =>
        /points, (raw samples|per-minute figures|hourly figures) every/.test(
          (await history.getByTestId('history-summary').textContent()) ?? '',
        ),
      15_000,
      `the ${range} history`,
    );
  }

  // Stop the burner from its row: the row says so, the platform agrees, it is no longer sampled.
  await row(page, burner)
    .getByRole('button', { name: `Stop ${burner}` })
    .click();
  await until(
    async () => (await cellText(page, burner, 'm-state')) === 'stopped',
    30_000,
    'the row to say stopped',
  );
  expect(await cellText(page, burner, 'm-v')).toBe('–');
  expect(
    await row(page, burner)
      .getByRole('button', { name: `Start ${burner}` })
      .isVisible(),
  ).toBe(true);
  const c = (await (await rig.platform.call(user, 'user', `/v1/containers/${ids[burner]}`)).json()) as {
    state: string;
  };
  expect(['stopped', 'exited']).toContain(c.state);
  // The stream's own word: it is gone from the samples (and stays stopped in the table).
  await page.waitForTimeout(7000);
  expect(await cellText(page, burner, 'm-state')).toBe('stopped');
  expect(await cellText(page, idle, 'm-state')).toBe('running');

  await page.setViewportSize(PHONE);
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  await page.evaluate(() =>
    (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0),
  );
  await screenshot(page, 'monitor-phone');
  expect(errors).toEqual([]);
});
