/**
 * One container through the portal against the rig's real daemons: created with the address
 * ipam suggests, a second interface attached, moved into the experiment range and detached, each
 * step checked inside the container's network namespace through Docker; API problems shown next
 * to the field or with the operation's detail. Addresses 10.64.99.170-179 (second interfaces
 * 172.10.0.170-179) belong to this file alone; nothing is sent to them from the host.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { until } from './support/platform';
import { setUpBrowserPlatform } from './support/browser-platform';
import { LAPTOP, PHONE, newContext, screenshot, signInLocal, watchErrors } from './support/browser';
import { horizontalOverflow, seriousViolations } from './support/page-checks';

jest.setTimeout(240_000);

const user = `cat-${randomBytes(3).toString('hex')}`;

const rig = setUpBrowserPlatform({
  name: 'portal-containers',
  range: '10.64.99.170-10.64.99.179',
  secondaryRange: '172.10.0.170-172.10.0.179',
  nodes: ['node3'],
});

/** The IPv4 addresses of an interface inside the container (null when it has no such interface). */
async function addressesIn(name: string, ifname: string): Promise<string[] | null> {
  const d = rig.platform.dockers.node3!;
  const c = (await d.listOwned(rig.platform.platformId)).find((x) => x.name === name);
  if (!c) throw new Error(`${name} is not on node3`);
  const r = await d.exec(c.dockerId, ['ip', '-o', '-4', 'addr', 'show', 'dev', ifname]);
  if (r.exitCode !== 0) return null;
  return [...r.output.matchAll(/inet (\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!);
}

const cell = (page: Page, ifname: string, label: string) =>
  page.locator(`tr[data-interface="${ifname}"] td[data-label="${label}"]`);

test('creates a container with the suggested address, attaches a second interface, moves it, detaches it', async () => {
  const page = await (await newContext(rig.browser, LAPTOP)).newPage();
  const errors = watchErrors(page);
  await signInLocal(page, rig.platform.url, user, 'user', '/containers/new');
  const name = `c${randomBytes(2).toString('hex')}`;

  // A bad name is answered by the API and shown at the field, with its message.
  await page.getByLabel('Name').fill('Not A Name!');
  await page.getByRole('button', { name: 'Create container' }).click();
  const nameField = page.getByLabel('Name');
  await page.locator('#create-name-error').waitFor();
  expect(await page.locator('#create-name-error').textContent()).toMatch(/lower-case letters/);
  expect(await nameField.getAttribute('aria-invalid')).toBe('true');
  expect(await nameField.getAttribute('aria-describedby')).toContain('create-name-error');

  await page.getByLabel('Node').selectOption('node3');
  await nameField.fill(name);
  await page.getByTestId('suggested-ip').filter({ hasText: '10.64.99.170' }).waitFor();
  expect(await page.getByLabel('Address').inputValue()).toBe('10.64.99.170');
  expect(await page.getByLabel('Image').inputValue()).toBe('testbed/debian-ssh');
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, 'create-container');
  await page.getByRole('button', { name: 'Create container' }).click();

  // The container's page once it runs.
  await page.getByRole('heading', { name, level: 1 }).waitFor({ timeout: 90_000 });
  await page.locator('.page-head').getByText('running').waitFor();
  expect((await cell(page, 'eth0', 'Address').textContent())?.trim()).toBe('10.64.99.170');
  expect(await page.locator('.copy-text').first().textContent()).toBe('ssh root@10.64.99.170');
  expect(await addressesIn(name, 'eth0')).toEqual(['10.64.99.170']);
  expect(await addressesIn(name, 'eth1')).toBeNull();

  // Attach eth1 from the secondary pool.
  await page.getByLabel('Attach eth1 to').selectOption({ label: 'the secondary network (pool secondary)' });
  await page.getByRole('button', { name: 'Attach eth1' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: 'eth1 attached with 172.10.0.170' })
    .waitFor({ timeout: 60_000 });
  await until(async () => (await cell(page, 'eth1', 'Address').count()) === 1, 15_000, 'the eth1 row');
  expect((await cell(page, 'eth1', 'Address').textContent())?.trim()).toBe('172.10.0.170');
  expect(await addressesIn(name, 'eth1')).toEqual(['172.10.0.170']);
  await screenshot(page, 'container', { fullPage: true });

  // Move it into the experiment range, to the free address ipam suggests.
  await page.getByRole('button', { name: 'Move eth1', exact: true }).click();
  expect(await page.getByLabel('Into pool').inputValue()).toBe('experiment');
  await until(
    async () => (await page.getByLabel('New address').inputValue()) === '10.64.99.171',
    10_000,
    'the suggestion',
  );
  await page.getByRole('button', { name: 'Move eth1 to this address' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: 'eth1 moved to 10.64.99.171' })
    .waitFor({ timeout: 60_000 });
  await until(
    async () => (await cell(page, 'eth1', 'Address').textContent())?.trim() === '10.64.99.171',
    15_000,
    'eth1 moved',
  );
  expect(await addressesIn(name, 'eth1')).toEqual(['10.64.99.171']);

  // Detach it: the row goes, the interface leaves the container.
  await page.getByRole('button', { name: 'Detach eth1' }).click();
  await page.getByRole('status').filter({ hasText: 'eth1 detached' }).waitFor({ timeout: 60_000 });
  await until(async () => (await cell(page, 'eth1', 'Address').count()) === 0, 15_000, 'the eth1 row to go');
  expect(await addressesIn(name, 'eth1')).toBeNull();
  expect(await addressesIn(name, 'eth0')).toEqual(['10.64.99.170']);

  // The action list (the audit log's entries of this container) has the create and each change.
  const actionRows = page.getByTestId('action-list').locator('tbody tr');
  await until(
    async () =>
      (await page.locator('[data-testid="action-list"] tr[data-action="interface.detach"]').count()) > 0,
    30_000,
    'the detach in the action list',
  );
  const listed = await actionRows.evaluateAll((rows) =>
    rows.map((r) => (r as unknown as { getAttribute(n: string): string | null }).getAttribute('data-action')),
  );
  expect(listed).toEqual(
    expect.arrayContaining(['container.create', 'interface.attach', 'interface.move', 'interface.detach']),
  );
  expect(await page.locator('[data-testid="action-list"] tr[data-result="refused"]').count()).toBe(0);

  // An address already taken: the operation fails and the page says why. ipam's suggestion is
  // held back until after the address is typed: arriving late, it must not replace it.
  let releaseSuggestion = () => {};
  const suggestionHeld = new Promise<void>((resolve) => (releaseSuggestion = resolve));
  await page.route('**/v1/pools/*/next-free*', async (route) => {
    await suggestionHeld;
    await route.continue();
  });
  await page.goto(`${rig.platform.url}/containers/new`);
  await page.getByLabel('Node').selectOption('node3');
  await page.getByLabel('Name').fill(`${name}-twin`);
  await page.getByLabel('Address').fill('10.64.99.170');
  releaseSuggestion();
  await page.getByTestId('suggested-ip').waitFor();
  await page.unroute('**/v1/pools/*/next-free*');
  expect(await page.getByLabel('Address').inputValue()).toBe('10.64.99.170');
  await page.getByRole('button', { name: 'Create container' }).click();
  await page.locator('.op-status').getByText('failed').waitFor({ timeout: 60_000 });
  expect(await page.locator('.op-status .problem-detail').textContent()).toMatch(/10\.64\.99\.170/);

  // The nodes page lists it, at laptop and phone width.
  await page.goto(`${rig.platform.url}/nodes`);
  const row = page.locator(`tr[data-container="${name}"]`);
  await row.waitFor();
  expect(await row.locator('td[data-label="Address"]').textContent()).toContain('10.64.99.170');
  expect(await row.locator('td[data-label="Owner"]').textContent()).toBe(user);
  expect(await row.locator('td[data-label="Image"]').textContent()).toBe('testbed/debian-ssh');
  await page.getByRole('button', { name: 'Containers on node3' }).click();
  await page.getByRole('heading', { name: 'On node3’s daemon' }).waitFor();
  await page.locator('#daemon-heading ~ .table-wrap').getByText(name, { exact: true }).waitFor();
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, 'nodes');
  await page.setViewportSize(PHONE);
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  await screenshot(page, 'nodes-phone');
  await page.setViewportSize(LAPTOP);

  // Stop and remove it from its row.
  await row.getByRole('button', { name: `Stop ${name}` }).click();
  await row.locator('td[data-label="State"]').getByText('stopped').waitFor({ timeout: 30_000 });
  await row.getByRole('button', { name: `Remove ${name}` }).click();
  await page
    .getByRole('dialog')
    .getByRole('button', { name: `Remove ${name}` })
    .click();
  await row.waitFor({ state: 'detached', timeout: 30_000 });
  await until(
    async () => (await rig.platform.dockers.node3!.listOwned(rig.platform.platformId)).length === 0,
    30_000,
    'the container to go',
  );
  expect(errors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
});
