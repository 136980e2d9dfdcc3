/**
 * The reservations calendar in Chromium against the platform (quota on the rig's Postgres): a
 * reservation booked by choosing a free slot; another user's overlapping booking refused with
 * the reservation in the way named and marked; extend (and an extension refused by a neighbour),
 * cancel; day and week views, and the phone layout. Books tomorrow (UTC), no containers.
 */
import { randomBytes } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { until } from './support/platform';
import { setUpBrowserPlatform } from './support/browser-platform';
import { LAPTOP, PHONE, newContext, screenshot, signInLocal, watchErrors } from './support/browser';
import { horizontalOverflow, seriousViolations } from './support/page-checks';
import { focused } from './support/keyboard';

jest.setTimeout(240_000);

const eve = `eve-${randomBytes(3).toString('hex')}`;
const fay = `fay-${randomBytes(3).toString('hex')}`;
const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
const at = (hhmm: string) => `${tomorrow}T${hhmm}:00.000Z`;

const rig = setUpBrowserPlatform({
  name: 'portal-reservations',
  range: '10.64.99.190-10.64.99.194',
  secondaryRange: '172.10.0.190-172.10.0.194',
  nodes: ['node1', 'node2'],
});

async function openDay(context: BrowserContext, user: string): Promise<Page> {
  const page = await context.newPage();
  await signInLocal(page, rig.platform.url, user, 'user', `/reservations?view=day&date=${tomorrow}`);
  await page.getByRole('grid').waitFor();
  return page;
}

const slot = (page: Page, node: string, from: string, to: string) =>
  page.getByRole('button', { name: new RegExp(`^Book ${node}, .* ${from}–${to}$`) });

async function reservationsOf(
  user: string,
): Promise<{ id: string; start: string; end: string; state: string }[]> {
  const res = await rig.platform.call(user, 'user', `/v1/reservations?from=${at('00:00')}`);
  return ((await res.json()) as { items: { id: string; start: string; end: string; state: string }[] }).items;
}

test('book a free slot, be refused an overlapping one with the reservation in the way, extend, cancel', async () => {
  const eveContext = await newContext(rig.browser, LAPTOP);
  const page = await openDay(eveContext, eve);
  const errors = watchErrors(page);

  // Book node1 10:00–11:00 by choosing that free slot.
  await slot(page, 'node1', '10:00', '11:00').click();
  const dialog = page.getByRole('dialog', { name: 'Book a reservation' });
  await dialog.waitFor();
  expect(await dialog.getByLabel('From').inputValue()).toBe(`${tomorrow}T10:00`);
  expect(await dialog.getByLabel('To').inputValue()).toBe(`${tomorrow}T11:00`);
  expect(await dialog.getByRole('checkbox', { name: 'node1' }).isChecked()).toBe(true);
  await dialog.getByRole('button', { name: 'Book', exact: true }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /^Booked node1 from/ })
    .waitFor();
  const [mine] = await reservationsOf(eve);
  expect(mine).toMatchObject({ start: at('10:00'), end: at('11:00'), state: 'upcoming' });
  const bar = page.locator(`.cal-bar[data-reservation="${mine!.id}"]`);
  await bar.waitFor();
  expect(await bar.textContent()).toMatch(/^You: 10:00–11:00, node1 reserved by you from/);
  expect(await bar.locator('.cal-bar-text').textContent()).toBe('You: 10:00–11:00');
  // The slot it covers is no longer offered.
  expect(await slot(page, 'node1', '10:00', '11:00').count()).toBe(0);
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, 'reservations-day');

  // Another user sees the slot booked (not whose), and an overlapping booking is refused with it named.
  const fayContext = await newContext(rig.browser, LAPTOP);
  const fayPage = await openDay(fayContext, fay);
  const fayErrors = watchErrors(fayPage);
  const theirs = fayPage.locator(`.cal-bar[data-reservation="${mine!.id}"]`);
  await theirs.waitFor();
  expect(await theirs.textContent()).toMatch(/^Booked: 10:00–11:00, node1 booked by another user from/);
  expect(await fayPage.getByText(eve).count()).toBe(0);
  await slot(fayPage, 'node1', '09:00', '10:00').click();
  const fayDialog = fayPage.getByRole('dialog', { name: 'Book a reservation' });
  await fayDialog.getByLabel('To').fill(`${tomorrow}T10:30`);
  await fayDialog.getByRole('button', { name: 'Book', exact: true }).click();
  const problem = fayDialog.getByRole('alert');
  await problem.waitFor();
  expect(await problem.textContent()).toMatch(/Conflict \(409\)/);
  expect(await problem.textContent()).toContain(`by reservation ${mine!.id}`);
  expect(await problem.locator('.conflict').getAttribute('data-reservation')).toBe(mine!.id);
  expect(await problem.locator('.conflict').textContent()).toMatch(
    /^In the way: reservation .* on node1, from/,
  );
  await screenshot(fayPage, 'reservations-conflict');
  await fayDialog.getByRole('button', { name: 'Close', exact: true }).first().click();
  // The reservation in the way is marked on the calendar.
  await until(
    async () => (await theirs.getAttribute('class'))?.includes('in-the-way') ?? false,
    5000,
    'the mark',
  );
  expect(await theirs.textContent()).toMatch(/, in the way of your booking$/);
  expect(await reservationsOf(fay)).toEqual([]);

  // Fay books 13:00–14:00 instead.
  await slot(fayPage, 'node1', '13:00', '14:00').click();
  await fayDialog.getByRole('button', { name: 'Book', exact: true }).click();
  await fayPage
    .getByRole('status')
    .filter({ hasText: /^Booked node1 from/ })
    .waitFor();
  const [fays] = await reservationsOf(fay);

  // Eve extends hers by an hour, twice: the second runs into Fay's and is refused, naming it.
  await page.reload();
  await bar.waitFor();
  await bar.click();
  const manage = page.getByRole('dialog', { name: 'Reservation of node1' });
  await manage.waitFor();
  const end = manage.getByTestId('reservation-end');
  expect(await end.textContent()).toMatch(/11:00$/);
  await manage.getByRole('button', { name: 'Extend by 1 hour' }).click();
  await end.filter({ hasText: /12:00$/ }).waitFor();
  expect((await reservationsOf(eve))[0]).toMatchObject({ end: at('12:00') });
  await manage.getByRole('button', { name: 'Extend by 1 hour' }).click();
  await end.filter({ hasText: /13:00$/ }).waitFor();
  expect((await reservationsOf(eve))[0]).toMatchObject({ end: at('13:00') });
  await manage.getByRole('button', { name: 'Extend by 1 hour' }).click();
  const refused = manage.getByRole('alert');
  await refused.waitFor();
  expect(await refused.locator('.conflict').getAttribute('data-reservation')).toBe(fays!.id);
  expect((await reservationsOf(eve))[0]).toMatchObject({ end: at('13:00') });
  await manage.getByRole('button', { name: 'Close', exact: true }).first().click();
  await page
    .getByRole('status')
    .filter({ hasText: /^Extended by an hour: node1 now until/ })
    .waitFor();
  await until(
    async () => (await bar.locator('.cal-bar-text').textContent()) === 'You: 10:00–13:00',
    5000,
    'the bar to reach 13:00',
  );

  // The week view draws both; at phone width the calendar turns (time runs down).
  await page.getByRole('radio', { name: 'Week' }).check();
  await page.locator('.cal-week').waitFor();
  await bar.waitFor();
  expect(await page.locator(`.cal-bar[data-reservation="${fays!.id}"]`).count()).toBe(1);
  await screenshot(page, 'reservations-week');
  await page.getByRole('radio', { name: 'Day' }).check();
  await page.locator('.cal-day').waitFor();

  // Keyboard: one stop in the grid, arrow keys move between slots.
  await slot(page, 'node2', '15:00', '16:00').focus();
  await page.keyboard.press('ArrowRight');
  expect((await focused(page)).name).toMatch(/^Book node2, .* 16:00–17:00$/);
  await page.keyboard.press('ArrowUp');
  expect((await focused(page)).name).toMatch(/^Book node1, .* 16:00–17:00$/);
  expect(await page.locator('.cal-slot[tabindex="0"]').count()).toBe(1);

  // Cancel it.
  await bar.click();
  await manage.getByRole('button', { name: 'Cancel the reservation' }).click();
  await page
    .getByRole('dialog', { name: 'Cancel this reservation?' })
    .getByRole('button', { name: 'Cancel the reservation' })
    .click();
  await page
    .getByRole('status')
    .filter({ hasText: /^Cancelled the reservation of node1/ })
    .waitFor();
  await bar.waitFor({ state: 'detached' });
  expect(await reservationsOf(eve)).toEqual([]);
  expect(await slot(page, 'node1', '10:00', '11:00').count()).toBe(1);

  await page.setViewportSize(PHONE);
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  await screenshot(page, 'reservations-phone');
  expect(errors.filter((e) => !/status of 409/.test(e))).toEqual([]);
  expect(fayErrors.filter((e) => !/status of 409/.test(e))).toEqual([]);
  await eveContext.close();
  await fayContext.close();
});
