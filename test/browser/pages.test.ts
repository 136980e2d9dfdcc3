/**
 * Every page of the portal in Chromium against the platform with the rig's daemons and the stats
 * pipeline: user A never sees user B's containers on any page; a signed-out visitor gets the
 * sign-in page whatever the address, and nothing from the API; axe-core finds no serious or
 * critical violation on any page, at laptop and phone width, and no page scrolls sideways at
 * 390 px; networks made and removed through the page; operators' users and quotas.
 * Addresses 10.64.99.195-205 (172.10.0.195-199) and the pool 172.31.77.0/24 belong to this file:
 * eleven, so that the batch form's suggestion of a block of five still finds one beside the
 * three containers made here (a 409 of ipam's next-free would be a console error).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Page } from 'playwright-core';
import { until } from './support/platform';
import { setUpBrowserPlatform } from './support/browser-platform';
import { rigEndpoint } from '@testbed/test-support/fixtures/provisioning';
import { LAPTOP, PHONE, newContext, screenshot, signInLocal, watchErrors } from './support/browser';
import { horizontalOverflow, seriousViolations } from './support/page-checks';

jest.setTimeout(300_000);

const suffix = randomBytes(3).toString('hex');
const userA = `amy-${suffix}`;
const userB = `bob-${suffix}`;
const operator = `ops-${suffix}`;
const network = `lab-${suffix}`;
interface Made {
  id: string;
  name: string;
  ip: string;
  dockerId?: string;
}
const a: Made[] = [];
const b: Made[] = [];
let bBatchOp = '';

/** A node whose daemon accepts connections and never answers: its operations stay under way. */
const held: net.Socket[] = [];
const blackHole = net.createServer((socket) => held.push(socket));

const rig = setUpBrowserPlatform({
  name: 'portal-pages',
  range: '10.64.99.195-10.64.99.205',
  secondaryRange: '172.10.0.195-172.10.0.199',
  nodes: ['node1'],
  agents: true,
  env: {
    // A Docker call that never answers (the stuck node below) gives up after this: long enough
    // for the operations page to show its operation under way even on a loaded machine.
    PROVISIONING_DOCKER_TIMEOUT_MS: '30000',
    PROVISIONING_POOL_NETWORKS:
      'experiment=10.64.98.0/23@10.64.98.1,secondary=172.10.0.0/24@172.10.0.1,lab=172.31.77.0/24@172.31.77.1',
  },
  beforeStop: async (platform) => {
    for (const s of held) s.destroy();
    blackHole.close();
    for (const [user, made] of [
      [userA, a],
      [userB, b],
    ] as const)
      for (const m of made)
        await platform.call(user, 'user', `/v1/containers/${m.id}?force=true`, { method: 'DELETE' });
    await platform.call(operator, 'operator', `/v1/networks/${network}`, { method: 'DELETE' });
  },
});

async function create(user: string, name: string): Promise<Made> {
  const res = await rig.platform.call(user, 'user', '/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    body: JSON.stringify({ node: 'node1', name, image: 'testbed/busybox' }),
  });
  const op = (await res.json()) as { state: string; items: { containerId: string; ip: string }[] };
  if (op.state !== 'succeeded') throw new Error(`creating ${name}: ${JSON.stringify(op)}`);
  return { id: op.items[0]!.containerId, name, ip: op.items[0]!.ip };
}

beforeAll(async () => {
  const pool = await rig.platform.call(operator, 'operator', '/v1/pools', {
    method: 'POST',
    body: JSON.stringify({
      name: 'lab',
      cidr: '172.31.77.0/24',
      rangeStart: '172.31.77.10',
      rangeEnd: '172.31.77.20',
      gateway: '172.31.77.1',
      segment: 'lab',
    }),
  });
  expect(pool.status).toBe(201);
  // A's first: B's addresses are then none of the pool's bounds, which the networks page lists.
  a.push(await create(userA, `amine-${suffix}`));
  b.push(await create(userB, `bsecret-${suffix}`));
  const batch = await rig.platform.call(userB, 'user', '/v1/batches', {
    method: 'POST',
    body: JSON.stringify({
      namePrefix: `bbatch-${suffix}`,
      count: 1,
      image: 'testbed/busybox',
      nodes: ['node1'],
    }),
  });
  bBatchOp = ((await batch.json()) as { id: string }).id;
  await until(
    async () => {
      const op = (await (await rig.platform.call(userB, 'user', `/v1/operations/${bBatchOp}`)).json()) as {
        state: string;
        items: { containerId: string; ip: string; name: string }[];
      };
      if (op.state !== 'succeeded') return false;
      b.push({ id: op.items[0]!.containerId, name: op.items[0]!.name, ip: op.items[0]!.ip });
      return true;
    },
    90_000,
    "B's batch",
  );
  const owned = await rig.platform.dockers.node1!.listOwned(rig.platform.platformId);
  for (const m of [...a, ...b]) m.dockerId = owned.find((c) => c.containerId === m.id)!.dockerId;
}, 240_000);

/** B's containers as any page could show them: names, platform ids, Docker ids, addresses. */
const traces = () => b.flatMap((m) => [m.name, m.id, m.ip, m.dockerId!.slice(0, 12)]);

async function text(page: Page): Promise<string> {
  return (await page.locator('body').innerText()) + (await page.content());
}

test('user A never sees user B’s containers on any page', async () => {
  const page = await (await newContext(rig.browser, LAPTOP)).newPage();
  const errors = watchErrors(page);
  await signInLocal(page, rig.platform.url, userA, 'user', '/nodes');
  const mine = a[0]!;

  // Each page, what makes it ready, and what of B's may show there: only an id A typed in.
  const visits: [string, () => Promise<void>, string[]?][] = [
    [
      '/nodes',
      async () => {
        await page.locator(`tr[data-container="${mine.name}"]`).waitFor();
        await page.getByRole('button', { name: 'Containers on node1' }).click();
        await page.locator('#daemon-heading ~ .table-wrap').getByText(mine.name, { exact: true }).waitFor();
      },
    ],
    ['/nodes?node=node1', () => page.locator(`tr[data-container="${mine.name}"]`).waitFor()],
    [
      '/monitor',
      async () => {
        await page
          .locator(`.monitor-table tbody tr:has(th button:text-is("${mine.name}"))`)
          .waitFor({ timeout: 30_000 });
        // Two more intervals: whatever the stream would send has arrived.
        await page.waitForTimeout(6500);
        expect(await page.locator('.monitor-table tbody tr').count()).toBe(1);
      },
    ],
    ['/operations', () => page.locator('tr[data-operation]').first().waitFor()],
    ['/reservations', () => page.getByRole('grid').waitFor()],
    ['/networks', () => page.getByRole('heading', { name: 'Address pools' }).waitFor()],
    [`/containers/${mine.id}`, () => page.getByRole('heading', { name: mine.name, level: 1 }).waitFor()],
    [
      `/containers/${b[0]!.id}`,
      () =>
        page
          .getByRole('alert')
          .filter({ hasText: /Forbidden \(403\).*belongs to another user/ })
          .waitFor(),
      [b[0]!.id],
    ],
    [
      `/batches?op=${bBatchOp}`,
      () =>
        page
          .getByRole('alert')
          .filter({ hasText: /Forbidden \(403\).*belongs to another user/ })
          .waitFor(),
    ],
    ['/containers/new', () => page.getByTestId('suggested-ip').waitFor()],
  ];
  for (const [path, ready, typedIn = []] of visits) {
    await page.goto(rig.platform.url + path);
    await ready();
    const seen = await text(page);
    for (const t of traces().filter((x) => !typedIn.includes(x)))
      expect([path, seen.includes(t) ? t : '']).toEqual([path, '']);
  }
  // What A's pages do show: A's own container, with its address.
  await page.goto(`${rig.platform.url}/nodes`);
  await page
    .locator(`tr[data-container="${mine.name}"] td[data-label="Address"]`)
    .getByText(mine.ip)
    .waitFor();
  // The API agrees: nothing of B's for A.
  const listed = (await (await rig.platform.call(userA, 'user', '/v1/containers')).json()) as {
    items: { id: string }[];
  };
  expect(listed.items.map((c) => c.id)).toEqual([mine.id]);
  const samples = (await (await rig.platform.call(userA, 'user', '/v1/stats/containers')).json()) as {
    items: { containerId: string }[];
  };
  expect(samples.items.map((s) => s.containerId)).toEqual([mine.id]);
  // A user sees no users page in the navigation.
  expect(await page.getByRole('link', { name: 'Users & quotas' }).count()).toBe(0);
  expect(errors.filter((e) => !/status of 40[34]/.test(e))).toEqual([]);
});

test('a signed-out visitor sees only the sign-in page, wherever they land, and the API is not called', async () => {
  const context = await newContext(rig.browser, LAPTOP);
  const page = await context.newPage();
  const api: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/v1/')) api.push(r.url());
  });
  for (const path of [
    '/',
    '/nodes',
    '/monitor',
    `/containers/${a[0]!.id}`,
    '/batches',
    '/reservations',
    '/users',
    '/operations',
    '/nowhere',
  ]) {
    await page.goto(rig.platform.url + path);
    await page.getByRole('heading', { name: 'Sign in to the testbed' }).waitFor();
    expect(await page.getByRole('navigation').count()).toBe(0);
    expect(await page.getByTestId('signed-in-user').count()).toBe(0);
    for (const t of [...traces(), a[0]!.name]) expect((await text(page)).includes(t)).toBe(false);
  }
  expect(api).toEqual([]);
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, 'signin');

  // Signing in from a deep link lands there; signing out ends it, and going back does not bring it back.
  await page.goto(`${rig.platform.url}/monitor`);
  await page.getByLabel('User name').fill(userA);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Monitor', level: 1 }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/monitor');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to the testbed' }).waitFor();
  await page.getByText('You signed out.').waitFor();
  await page.goBack();
  await page.getByRole('heading', { name: 'Sign in to the testbed' }).waitFor();
  expect(await page.getByTestId('signed-in-user').count()).toBe(0);
  await page.setViewportSize(PHONE);
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  await screenshot(page, 'signin-phone');
  await context.close();
});

test('networks are made and removed through the page; operators see users and quotas', async () => {
  const page = await (await newContext(rig.browser, LAPTOP)).newPage();
  const errors = watchErrors(page);
  await signInLocal(page, rig.platform.url, operator, 'operator', '/networks');
  await page.getByLabel('Name').fill(network);
  await page.getByLabel('Address pool').selectOption('lab');
  await page.getByRole('checkbox', { name: 'node1' }).check();
  await page.getByRole('button', { name: 'Create network' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `Network ${network} created on node1.` })
    .waitFor({ timeout: 60_000 });
  const row = page.locator('tr', { has: page.getByText(network, { exact: true }) });
  await row.waitFor();
  expect(await row.locator('td[data-label="Pool"]').textContent()).toBe('lab');
  const docker = rig.platform.dockers.node1!.docker;
  expect((await docker.listNetworks()).some((n) => n.Name === network)).toBe(true);
  // A bad name is refused at its field.
  await page.getByLabel('Name').fill('Bad Name');
  await page.getByRole('button', { name: 'Create network' }).click();
  await page.locator('#network-name-error').waitFor();
  await page.getByLabel('Name').fill('');
  await screenshot(page, 'networks');
  await row.getByRole('button', { name: `Remove network ${network}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove the network' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `Network ${network} removed.` })
    .waitFor({ timeout: 60_000 });
  await until(
    async () => !(await docker.listNetworks()).some((n) => n.Name === network),
    20_000,
    'the network to go',
  );

  // Operators: every user with their use, and a quota changed through the dialog.
  await page.goto(`${rig.platform.url}/users`);
  const bRow = page.locator(`tr[data-user="${userB}"]`);
  await bRow.waitFor();
  expect(await bRow.locator('td[data-label="Containers"]').textContent()).toMatch(/^2 of 40/);
  await bRow.getByRole('button', { name: `Change the quota of ${userB}` }).click();
  const dialog = page.getByRole('dialog', { name: `Quota of ${userB}` });
  await dialog.getByLabel('Containers').fill('3');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `Quota of ${userB} saved.` })
    .waitFor();
  await until(
    async () => /^2 of 3/.test((await bRow.locator('td[data-label="Containers"]').textContent()) ?? ''),
    20_000,
    'the new limit',
  );
  // Only that limit is set for B; the others stay the defaults.
  expect(await bRow.locator('td[data-label="Quota"]').textContent()).toMatch(/set: maxContainers$/);
  await screenshot(page, 'users');
  // Operators see everyone's containers.
  await page.goto(`${rig.platform.url}/nodes`);
  for (const m of [...a, ...b]) await page.locator(`tr[data-container="${m.name}"]`).waitFor();
  await page.goto(`${rig.platform.url}/operations`);
  await page.locator('tr[data-operation]').first().waitFor();
  await screenshot(page, 'operations');
  expect(errors.filter((e) => !/status of 422/.test(e))).toEqual([]);
});

test('an operation under way is listed with its state and cancelled from the operations page', async () => {
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  const { tls } = rigEndpoint('node1');
  const port = (blackHole.address() as net.AddressInfo).port;
  const node = await rig.platform.call(operator, 'operator', '/v1/nodes', {
    method: 'POST',
    body: JSON.stringify({ name: 'stuck', dockerHost: `tcp://127.0.0.1:${port}`, tls, macvlanParent: 'tb1' }),
  });
  expect(node.status).toBe(201);
  // quota learns the node from provisioning's node.registered, on its own topic: a create before
  // that is refused at once (unknown node) and its operation is never under way.
  await until(
    async () => (await rig.platform.call(userA, 'user', '/v1/nodes/stuck/availability')).status === 200,
    30_000,
    'quota to know node stuck',
  );
  const res = await rig.platform.call(userA, 'user', '/v1/containers', {
    method: 'POST',
    body: JSON.stringify({ node: 'stuck', name: `astuck-${suffix}`, image: 'testbed/busybox' }),
  });
  const op = (await res.json()) as { id: string };
  const page = await (await newContext(rig.browser, LAPTOP)).newPage();
  const errors = watchErrors(page);
  await signInLocal(page, rig.platform.url, userA, 'user', '/operations');
  const row = page.locator(`tr[data-operation="${op.id}"]`);
  await row
    .locator('td[data-label="State"]')
    .getByText(/pending|running/)
    .waitFor({ timeout: 20_000 });
  expect(await row.locator('td[data-label="Kind"]').textContent()).toMatch(/^container\.create/);
  await row.getByRole('button', { name: `Cancel operation ${op.id.slice(0, 8)}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel the operation' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `Operation ${op.id.slice(0, 8)} is ` })
    .waitFor();
  // It ends cancelled once the call in flight gives up (30 s here), what it held released.
  await row.locator('td[data-label="State"]').getByText('cancelled').waitFor({ timeout: 90_000 });
  expect(await row.getByRole('button', { name: /^Cancel operation/ }).count()).toBe(0);
  const usage = (await (await rig.platform.call(userA, 'user', `/v1/users/${userA}/usage`)).json()) as {
    containers: { inUse: number; held: number };
  };
  expect(usage.containers).toMatchObject({ inUse: 1, held: 0 });
  expect(errors).toEqual([]);
});

test('no page has a serious or critical axe-core violation, and none scrolls sideways at 390 px', async () => {
  const context = await newContext(rig.browser, LAPTOP);
  const page = await context.newPage();
  await signInLocal(page, rig.platform.url, operator, 'operator', '/nodes');
  const pages: [string, string][] = [
    ['/nodes', 'main h2'],
    ['/nodes?node=node1', '#daemon-heading'],
    ['/containers/new', '[data-testid="suggested-ip"]'],
    [`/containers/${a[0]!.id}`, '.history'],
    ['/batches', '#batch-form-heading'],
    [`/batches?op=${bBatchOp}`, '[data-testid="batch-items"]'],
    ['/monitor', '.monitor-table tbody tr'],
    ['/reservations?view=day', '.cal-day'],
    ['/reservations?view=week', '.cal-week'],
    ['/networks', 'tbody tr'],
    ['/operations', 'tr[data-operation]'],
    ['/users', 'tr[data-user]'],
    ['/nowhere', 'main h1'],
  ];
  const found: Record<string, unknown> = {};
  for (const viewport of [LAPTOP, PHONE]) {
    await page.setViewportSize(viewport);
    for (const [path, ready] of pages) {
      await page.goto(rig.platform.url + path);
      await page.locator(ready).first().waitFor({ timeout: 30_000 });
      const violations = await seriousViolations(page);
      if (violations.length) found[`${path} @${viewport.width}`] = violations;
      if (viewport === PHONE) {
        const overflow = await horizontalOverflow(page);
        if (overflow > 0) found[`${path} @390 overflow`] = overflow;
      }
    }
    // The menu at phone width: folded, and opened by its button.
    if (viewport === PHONE) {
      await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('link', { name: 'Monitor' }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
    }
  }
  expect(found).toEqual({});
  await context.close();
});
