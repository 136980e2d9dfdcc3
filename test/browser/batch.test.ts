/**
 * The batch page in Chromium against the platform with the rig's real daemons: a batch of 5
 * through the form reaches 5/5, lists the five with ascending addresses, and one removed from its
 * row goes (from the page, the API and the daemon); then the whole flow again with the keyboard
 * alone. Addresses 10.64.99.160-169 (second interfaces 172.10.0.160-169) belong to this file alone.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { until } from './support/platform';
import { setUpBrowserPlatform } from './support/browser-platform';
import { LAPTOP, PHONE, newContext, screenshot, signInLocal, watchErrors } from './support/browser';
import { horizontalOverflow, seriousViolations } from './support/page-checks';
import { focused, focusInside, tabTo } from './support/keyboard';

jest.setTimeout(240_000);

const user = `ann-${randomBytes(3).toString('hex')}`;

const rig = setUpBrowserPlatform({
  name: 'portal-batch',
  range: '10.64.99.160-10.64.99.169',
  secondaryRange: '172.10.0.160-172.10.0.169',
  nodes: ['node2', 'node3'],
});

interface Row {
  name: string;
  node: string;
  state: string;
  ip: string;
}

async function itemRows(page: Page): Promise<Row[]> {
  return page.locator('[data-testid="batch-items"] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const cell = (label: string) =>
        (tr as unknown as { querySelector(s: string): { textContent: string | null } | null })
          .querySelector(`td[data-label="${label}"]`)
          ?.textContent?.trim() ?? '';
      return { name: cell('Name'), node: cell('Node'), state: cell('State'), ip: cell('Address') };
    }),
  );
}

const ipNumber = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

async function ownedNames(): Promise<string[]> {
  const all = await Promise.all(
    Object.values(rig.platform.dockers).map((d) => d.listOwned(rig.platform.platformId)),
  );
  return all.flat().map((c) => c.name);
}

test('a batch of 5 through the form reaches 5/5, lists the five with ascending addresses, and one removed from its row goes', async () => {
  const context = await newContext(rig.browser, LAPTOP);
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signInLocal(page, rig.platform.url, user, 'user', '/batches');
  const prefix = `b${randomBytes(2).toString('hex')}`;

  await page.getByLabel('Name prefix').fill(prefix);
  await page.getByLabel('Count').fill('5');
  await page.getByLabel('Image').fill('testbed/busybox');
  // Both nodes, spread: the page offers every registered node.
  for (const n of ['node2', 'node3'])
    await page.getByRole('checkbox', { name: new RegExp(`^${n} `) }).check();
  await page.getByRole('radio', { name: /Spread/ }).check();
  // ipam's suggestion of the lowest free block fills the base address.
  await until(
    async () => (await page.getByLabel('Base address').inputValue()) === '10.64.99.160',
    10_000,
    'the suggested base address',
  );
  await page.getByRole('button', { name: 'Create and run 5' }).click();

  // The progress bar and the items update while it runs, until 5/5.
  await page.getByTestId('batch-progress-text').filter({ hasText: '5/5' }).waitFor({ timeout: 90_000 });
  await page.locator('#batch-progress-heading').getByText('succeeded').waitFor({ timeout: 30_000 });
  const rows = await itemRows(page);
  expect(rows.map((r) => r.name)).toEqual([1, 2, 3, 4, 5].map((i) => `${prefix}-${i}`));
  expect(rows.every((r) => r.state === 'running')).toBe(true);
  expect(rows.map((r) => r.ip)).toEqual([
    '10.64.99.160',
    '10.64.99.161',
    '10.64.99.162',
    '10.64.99.163',
    '10.64.99.164',
  ]);
  const ips = rows.map((r) => ipNumber(r.ip));
  expect(ips).toEqual([...ips].sort((a, b) => a - b));
  expect(new Set(rows.map((r) => r.node))).toEqual(new Set(['node2', 'node3']));
  expect((await ownedNames()).filter((n) => n.startsWith(`${prefix}-`)).sort()).toEqual(
    rows.map((r) => r.name).sort(),
  );
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, 'batch');

  // Remove the third from its row: it leaves the list, the API and the node.
  const third = page.locator(`tr[data-item="${prefix}-3"]`);
  await third.getByRole('button', { name: `Remove ${prefix}-3` }).click();
  await third.waitFor({ state: 'detached', timeout: 30_000 });
  await page
    .getByRole('status')
    .filter({ hasText: `${prefix}-3 removed` })
    .waitFor();
  expect((await itemRows(page)).map((r) => r.name)).toEqual([1, 2, 4, 5].map((i) => `${prefix}-${i}`));
  await until(
    async () => !(await ownedNames()).includes(`${prefix}-3`),
    20_000,
    `${prefix}-3 to leave its daemon`,
  );
  const mine = (await (await rig.platform.call(user, 'user', '/v1/containers')).json()) as {
    items: { name: string }[];
  };
  expect(mine.items.map((c) => c.name).sort()).toEqual([1, 2, 4, 5].map((i) => `${prefix}-${i}`));

  // A reload shows the batch as it is now: the removed one stays gone.
  await page.reload();
  await page.getByTestId('batch-progress-text').filter({ hasText: '5/5' }).waitFor();
  await page.getByText('1 removed since the batch ran.').waitFor();
  expect((await itemRows(page)).map((r) => r.name)).not.toContain(`${prefix}-3`);

  // The same page at phone width: no sideways scrolling.
  await page.setViewportSize(PHONE);
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  await screenshot(page, 'batch-phone');

  // Clean up through the page: the whole batch.
  await page.setViewportSize(LAPTOP);
  await page.getByRole('button', { name: 'Remove the whole batch' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove the batch' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: 'Removed 4 containers of the batch' })
    .waitFor({ timeout: 60_000 });
  await until(
    async () => (await ownedNames()).every((n) => !n.startsWith(`${prefix}-`)),
    30_000,
    'the batch to leave the daemons',
  );
  expect(errors).toEqual([]);
  await context.close();
});

test('the whole batch flow with the keyboard alone: fill, submit, watch it finish, remove one', async () => {
  const context = await newContext(rig.browser, LAPTOP);
  const page = await context.newPage();
  const errors = watchErrors(page);
  // Sign in with the keyboard too.
  await page.goto(`${rig.platform.url}/nodes`);
  await page.getByRole('heading', { name: 'Sign in to the testbed' }).waitFor();
  await tabTo(page, /^User name$/);
  await page.keyboard.type(user);
  await tabTo(page, /^Role$/);
  await tabTo(page, /^Sign in$/);
  await page.keyboard.press('Enter');
  await page.getByTestId('signed-in-user').filter({ hasText: user }).waitFor();

  // The skip link comes first, then the navigation: to the batch page.
  await page.keyboard.press('Tab');
  expect((await focused(page)).name).toBe('Skip to content');
  await tabTo(page, /^Batch$/);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Batch', level: 1 }).waitFor();
  // A client navigation puts focus on the new page's heading.
  expect(await focused(page)).toMatchObject({ tag: 'h1', name: 'Batch' });

  const prefix = `k${randomBytes(2).toString('hex')}`;
  await tabTo(page, /^Name prefix$/);
  await page.keyboard.type(prefix);
  await tabTo(page, /^Count$/);
  await page.keyboard.press('Control+A');
  await page.keyboard.type('3');
  await tabTo(page, /^node2 /);
  if (!(await page.getByRole('checkbox', { name: /^node2 / }).isChecked()))
    await page.keyboard.press('Space');
  await tabTo(page, /^node3 /);
  if (await page.getByRole('checkbox', { name: /^node3 / }).isChecked()) await page.keyboard.press('Space');
  // Radio buttons: one stop for the group, the arrow keys choose.
  await tabTo(page, /^Spread/);
  await page.keyboard.press('ArrowDown');
  expect((await focused(page)).name).toMatch(/^Pack/);
  await page.keyboard.press('ArrowUp');
  expect((await focused(page)).name).toMatch(/^Spread/);
  await tabTo(page, /^Base address$/);
  // Wait for ipam's suggestion of the block (typed count changed it), then keep it.
  await until(
    async () => /^10\.64\.99\.\d+$/.test(await page.getByLabel('Base address').inputValue()),
    10_000,
    'a suggestion',
  );
  const base = await page.getByLabel('Base address').inputValue();
  await tabTo(page, /^Create and run 3$/);
  await page.keyboard.press('Enter');

  await page.getByTestId('batch-progress-text').filter({ hasText: '3/3' }).waitFor({ timeout: 90_000 });
  const rows = await itemRows(page);
  expect(rows.map((r) => r.name)).toEqual([1, 2, 3].map((i) => `${prefix}-${i}`));
  const first = ipNumber(base);
  expect(rows.map((r) => ipNumber(r.ip))).toEqual([first, first + 1, first + 2]);
  expect(rows.every((r) => r.node === 'node2')).toBe(true);

  // Remove the second with the keyboard: Tab to its row's button, Enter.
  await tabTo(page, new RegExp(`^Remove ${prefix}-2$`), { max: 80 });
  await page.keyboard.press('Enter');
  await page.locator(`tr[data-item="${prefix}-2"]`).waitFor({ state: 'detached', timeout: 30_000 });
  expect((await itemRows(page)).map((r) => r.name)).toEqual([`${prefix}-1`, `${prefix}-3`]);

  // And the rest of the batch, through the confirmation dialog, still by keyboard; focus returns.
  await tabTo(page, /^Remove the whole batch$/);
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  expect((await focused(page)).name).toBe('Remove the batch');
  // Focus stays in the dialog (the page behind is inert).
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    expect(await focusInside(page, 'dialog[open]')).toBe(true);
  }
  await tabTo(page, /^Remove the batch$/, { max: 6 });
  await page.keyboard.press('Enter');
  await page
    .getByRole('status')
    .filter({ hasText: 'Removed 2 containers of the batch' })
    .waitFor({ timeout: 60_000 });
  await dialog.waitFor({ state: 'hidden' });
  // Its button is gone with the batch: focus goes to the batch's heading, not to the page's end.
  expect((await focused(page)).name).toMatch(/^Batch k/);
  await until(
    async () => (await ownedNames()).every((n) => !n.startsWith(`${prefix}-`)),
    30_000,
    'the batch to leave',
  );
  expect(errors).toEqual([]);
  await context.close();
});
