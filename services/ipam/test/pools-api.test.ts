import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { ManualClock } from '@testbed/test-support/clock';
import { waitFor } from '@testbed/test-support/wait';
import { createIpamService, defaultIpamConfig } from '../src';

/** ipam's time: a hold expires when this clock says so, whatever the janitor's period. */
const clock = new ManualClock(new Date());
let t: TestHost;
const ops = (pathname: string, init?: RequestInit) => t.call('ops', 'operator', pathname, init);
const json = (body: unknown, method = 'POST'): RequestInit => ({ method, body: JSON.stringify(body) });

beforeAll(async () => {
  t = await startTestHost({
    name: 'ipam-api',
    database: 'pglite',
    bus: 'in-process',
    clock,
    modules: (deps) => [
      createIpamService({ ...deps, config: { ...defaultIpamConfig, IPAM_JANITOR_INTERVAL_MS: 200 } }),
    ],
  });
});
afterAll(() => t.stop());

test('seeds the original testbed pools', async () => {
  const res = await ops('/v1/pools/experiment');
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({
    cidr: '10.64.98.0/23',
    rangeStart: '10.64.98.52',
    rangeEnd: '10.64.98.240',
    segment: 'testbed',
    size: 189,
    used: 0,
    free: 189,
  });
  const secondary = (await (await ops('/v1/pools/secondary')).json()) as { cidr: string };
  expect(secondary.cidr).toBe('172.10.0.0/24');
});

test('creates a pool and answers bad definitions with 422 naming the field', async () => {
  const ok = await ops(
    '/v1/pools',
    json({
      name: 'lab',
      cidr: '192.168.50.0/24',
      rangeStart: '192.168.50.10',
      rangeEnd: '192.168.50.20',
      gateway: '192.168.50.1',
      exclude: ['192.168.50.15'],
      segment: 'lab',
    }),
  );
  expect(ok.status).toBe(201);
  expect(await ok.json()).toMatchObject({ name: 'lab', size: 10, used: 0 });
  expect(
    (
      await ops(
        '/v1/pools',
        json({
          name: 'lab',
          cidr: '10.1.0.0/24',
          rangeStart: '10.1.0.1',
          rangeEnd: '10.1.0.9',
          segment: 'x',
        }),
      )
    ).status,
  ).toBe(409);

  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ cidr: '10.1.0.0/33' }, 'body.cidr', /not an IPv4 CIDR/],
    [{ cidr: '10.1.0.0/24', rangeStart: '10.2.0.1' }, 'body.rangeStart', /outside 10.1.0.0\/24/],
    [
      { cidr: '10.1.0.0/24', rangeStart: '10.1.0.50', rangeEnd: '10.1.0.40' },
      'body.rangeEnd',
      /before range start/,
    ],
    [{ cidr: '10.1.0.0/24', rangeStart: 'ten' }, 'body.rangeStart', /not an IPv4 address/],
  ];
  for (const [override, path, message] of cases) {
    const body = {
      name: 'bad',
      cidr: '10.1.0.0/24',
      rangeStart: '10.1.0.1',
      rangeEnd: '10.1.0.9',
      segment: 'x',
      ...override,
    };
    const res = await ops('/v1/pools', json(body));
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(problem.errors).toContainEqual({ path, message: expect.stringMatching(message) });
  }
});

test('allocates an ascending contiguous block from the base address', async () => {
  const res = await ops(
    '/v1/pools/lab/allocations',
    json({ start: '192.168.50.11', count: 3, owner: 'alice' }),
  );
  expect(res.status).toBe(201);
  const { items } = (await res.json()) as { items: { ip: string; state: string }[] };
  expect(items.map((i) => i.ip)).toEqual(['192.168.50.11', '192.168.50.12', '192.168.50.13']);
  expect(items.every((i) => i.state === 'held')).toBe(true);
});

test('a block that does not fit names the first address in the way and holds nothing', async () => {
  const before = (await (await ops('/v1/pools/lab')).json()) as { used: number };
  const res = await ops(
    '/v1/pools/lab/allocations',
    json({ start: '192.168.50.14', count: 3, owner: 'bob' }),
  );
  expect(res.status).toBe(409);
  expect(await res.json()).toMatchObject({ firstConflict: '192.168.50.15' }); // the excluded address
  const taken = await ops(
    '/v1/pools/lab/allocations',
    json({ start: '192.168.50.10', count: 3, owner: 'bob' }),
  );
  expect(taken.status).toBe(409);
  expect(await taken.json()).toMatchObject({ firstConflict: '192.168.50.11' });
  const after = (await (await ops('/v1/pools/lab')).json()) as { used: number };
  expect(after.used).toBe(before.used);
});

test('bad allocation requests are 422 naming the field; a taken address 409', async () => {
  const expect422 = async (body: unknown, path: string) => {
    const res = await ops('/v1/pools/lab/allocations', json(body));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(path);
  };
  await expect422({ count: 0, owner: 'a' }, 'body.count');
  await expect422({ count: 11, owner: 'a' }, 'body.count');
  await expect422({ ip: '192.168.50.300', owner: 'a' }, 'body.ip');
  await expect422({ ip: '192.168.51.1', owner: 'a' }, 'body.ip');
  await expect422({ start: '192.168.50.2', count: 2, owner: 'a' }, 'body.start');
  const res = await ops('/v1/pools/lab/allocations', json({ ip: '192.168.50.12', owner: 'a' }));
  expect(res.status).toBe(409);
  expect(await res.json()).toMatchObject({ firstConflict: '192.168.50.12' });
  expect((await ops('/v1/pools/nope/allocations', json({ owner: 'a' }))).status).toBe(404);
});

test('release makes the address available again; binding stops its expiry', async () => {
  expect((await ops('/v1/pools/lab/allocations/192.168.50.12', { method: 'DELETE' })).status).toBe(204);
  expect((await ops('/v1/pools/lab/allocations/192.168.50.12', { method: 'DELETE' })).status).toBe(404);
  const again = await ops('/v1/pools/lab/allocations', json({ ip: '192.168.50.12', owner: 'carol' }));
  expect(again.status).toBe(201);
  const bound = await ops(
    '/v1/pools/lab/allocations/192.168.50.12',
    json({ state: 'bound', containerId: 'c1' }, 'PATCH'),
  );
  expect(bound.status).toBe(200);
  expect(await bound.json()).toMatchObject({ state: 'bound', containerId: 'c1', heldUntil: null });
  const list = (await (await ops('/v1/pools/lab/allocations?state=bound')).json()) as {
    items: { ip: string }[];
  };
  expect(list.items.map((i) => i.ip)).toEqual(['192.168.50.12']);
});

test('binding an address that is not allocated, or in a pool that does not exist, is a 404 naming which', async () => {
  const bind = (pathname: string) => ops(pathname, json({ state: 'bound', containerId: 'c2' }, 'PATCH'));
  const free = await bind('/v1/pools/lab/allocations/192.168.50.99');
  expect(free.status).toBe(404);
  expect(await free.json()).toMatchObject({ resource: 'allocation', id: 'lab/192.168.50.99' });
  const noPool = await bind('/v1/pools/nope/allocations/192.168.50.12');
  expect(noPool.status).toBe(404);
  expect(await noPool.json()).toMatchObject({ resource: 'pool', id: 'nope' });
});

test('the same Idempotency-Key and body allocate once', async () => {
  const init = { ...json({ owner: 'dave' }), headers: { 'idempotency-key': 'k-1' } };
  const first = await ops('/v1/pools/experiment/allocations', init);
  const second = await ops('/v1/pools/experiment/allocations', init);
  expect(first.status).toBe(201);
  expect(second.status).toBe(200);
  expect((await second.json()) as unknown).toEqual(await first.json());
});

test('users allocate only for themselves and see only their own', async () => {
  const user = (pathname: string, init?: RequestInit) => t.call('erin', 'user', pathname, init);
  expect(
    (
      await user(
        '/v1/pools',
        json({ name: 'x', cidr: '10.9.0.0/24', rangeStart: '10.9.0.1', rangeEnd: '10.9.0.2', segment: 'x' }),
      )
    ).status,
  ).toBe(403);
  expect((await user('/v1/pools/experiment/allocations', json({ owner: 'frank' }))).status).toBe(403);
  const mine = await user('/v1/pools/experiment/allocations', json({ owner: 'erin' }));
  expect(mine.status).toBe(201);
  const list = (await (await user('/v1/pools/experiment/allocations')).json()) as {
    items: { owner: string }[];
  };
  expect(list.items.length).toBeGreaterThan(0);
  expect(list.items.every((i) => i.owner === 'erin')).toBe(true);
});

test('expired holds come back at the janitor pass after their deadline, not before', async () => {
  const res = await ops(
    '/v1/pools/lab/allocations',
    json({ ip: '192.168.50.20', owner: 'gina', ttlSeconds: 1 }),
  );
  expect(res.status).toBe(201);
  const held = async () =>
    ((await (await ops('/v1/pools/lab/allocations?owner=gina')).json()) as { items: unknown[] }).items.length;
  // Janitor passes (every 200 ms) come and go; by ipam's clock the hold has 1 s left.
  await new Promise((r) => setTimeout(r, 600));
  expect(await held()).toBe(1);
  clock.advance(999);
  await new Promise((r) => setTimeout(r, 600));
  expect(await held()).toBe(1);
  // Its deadline passes: the next pass gives the address back.
  clock.advance(2);
  await waitFor('the janitor to release the expired hold', async () => (await held()) === 0, 5000, 50);
});

test('pool utilisation is a gauge on /metrics', async () => {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  expect(text).toMatch(/ipam_pool_utilisation_ratio\{pool="lab"\} 0\.\d+/);
});
