/**
 * The reservation endpoints as the reservation system uses them (a `service` token), and the
 * user and quota endpoints, on PGlite with an injected clock.
 */
import { ManualClock } from '@testbed/test-support/clock';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createQuotaService, defaultQuotaConfig } from '../src';

const clock = new ManualClock(new Date('2030-03-01T08:00:00Z'));
let t: TestHost;
const at = (hours: number) => new Date(clock.now().getTime() + hours * 3600_000).toISOString();
const json = (body: unknown, method = 'POST'): RequestInit => ({ method, body: JSON.stringify(body) });
const rs = (pathname: string, init?: RequestInit) => t.call('reservation-system', 'service', pathname, init);
const ops = (pathname: string, init?: RequestInit) => t.call('ops', 'operator', pathname, init);

beforeAll(async () => {
  t = await startTestHost({
    name: 'quota-api',
    database: 'pglite',
    bus: 'in-process',
    clock,
    modules: (deps) => [
      createQuotaService({
        ...deps,
        config: { ...defaultQuotaConfig, QUOTA_KNOWN_NODES: 'node1,node2,node3' },
      }),
    ],
  });
  // Users become known from their first token, or when an operator sets their quota.
  expect((await ops('/v1/users/alice/quota', json({ maxContainers: 5 }, 'PUT'))).status).toBe(201);
  expect((await ops('/v1/users/bob/quota', json({}, 'PUT'))).status).toBe(201);
});
afterAll(() => t.stop());

test('the reservation system books, lists, reads, extends, shortens and cancels', async () => {
  const booked = await rs(
    '/v1/reservations',
    json({ user: 'alice', nodes: ['node1', 'node2'], start: at(1), end: at(3) }),
  );
  expect(booked.status).toBe(201);
  const r = (await booked.json()) as { id: string; state: string; nodes: string[]; createdBy: string };
  expect(r).toMatchObject({ state: 'upcoming', nodes: ['node1', 'node2'], createdBy: 'reservation-system' });

  const neighbour = await rs(
    '/v1/reservations',
    json({ user: 'bob', nodes: ['node2'], start: at(4), end: at(6) }),
  );
  expect(neighbour.status).toBe(201);
  const n = (await neighbour.json()) as { id: string };

  const listed = (await (await rs('/v1/reservations?node=node2')).json()) as { items: { id: string }[] };
  expect(listed.items.map((i) => i.id)).toEqual([r.id, n.id]);
  const byUser = (await (await rs(`/v1/reservations?user=bob&from=${encodeURIComponent(at(0))}`)).json()) as {
    items: { id: string }[];
  };
  expect(byUser.items.map((i) => i.id)).toEqual([n.id]);
  expect((await rs(`/v1/reservations/${r.id}`)).status).toBe(200);

  // Extending into the booked neighbour is refused with the reservation in the way.
  const clash = await rs(`/v1/reservations/${r.id}`, json({ end: at(5) }, 'PATCH'));
  expect(clash.status).toBe(409);
  expect(await clash.json()).toMatchObject({ node: 'node2', conflictingReservation: { id: n.id } });
  // Up to the neighbour's start is fine; shortening too.
  expect((await rs(`/v1/reservations/${r.id}`, json({ end: at(4) }, 'PATCH'))).status).toBe(200);
  const shorter = await rs(`/v1/reservations/${r.id}`, json({ end: at(2) }, 'PATCH'));
  expect(await shorter.json()).toMatchObject({ end: at(2) });

  const free = (await (
    await rs(`/v1/nodes/node2/availability?from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(8))}`)
  ).json()) as {
    free: { start: string; end: string }[];
  };
  expect(free.free).toEqual([
    { start: at(0), end: at(1) },
    { start: at(2), end: at(4) },
    { start: at(6), end: at(8) },
  ]);

  expect((await rs(`/v1/reservations/${n.id}`, { method: 'DELETE' })).status).toBe(204);
  expect((await rs(`/v1/reservations/${r.id}`, json({ end: at(6) }, 'PATCH'))).status).toBe(200);
});

test('an overlapping booking is a 409 naming the reservation in the way', async () => {
  const first = (await (
    await rs('/v1/reservations', json({ user: 'bob', nodes: ['node3'], start: at(10), end: at(12) }))
  ).json()) as { id: string };
  const res = await rs(
    '/v1/reservations',
    json({ user: 'alice', nodes: ['node1', 'node3'], start: at(11), end: at(13) }),
  );
  expect(res.status).toBe(409);
  expect(await res.json()).toMatchObject({ node: 'node3', conflictingReservation: { id: first.id } });
});

test('bad input is a 422 naming the field', async () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ start: at(3), end: at(2) }, 'body.end', /./],
    [{ start: at(-3), end: at(-2) }, 'body', /past/],
    [{ start: '2030-03-01T10:00:00', end: at(5) }, 'body.start', /time zone/],
    [{ nodes: ['node9'] }, 'body.nodes', /node9/],
  ];
  for (const [override, path, message] of cases) {
    const res = await rs(
      '/v1/reservations',
      json({ user: 'alice', nodes: ['node1'], start: at(20), end: at(21), ...override }),
    );
    expect(res.status).toBe(422);
    const errors = ((await res.json()) as { errors: { path: string; message: string }[] }).errors;
    expect(errors.some((e) => e.path.startsWith(path) && message.test(e.message))).toBe(true);
  }
});

test('booking for a user the platform has not seen yet makes the user known, with the default limits', async () => {
  expect((await ops('/v1/users/newcomer/quota')).status).toBe(404);
  const res = await rs(
    '/v1/reservations',
    json({ user: 'newcomer', nodes: ['node1'], start: at(30), end: at(31) }),
  );
  expect(res.status).toBe(201);
  expect(await res.json()).toMatchObject({ user: 'newcomer', createdBy: 'reservation-system' });
  const quota = await ops('/v1/users/newcomer/quota');
  expect(quota.status).toBe(200);
  expect(await quota.json()).toMatchObject({
    user: 'newcomer',
    maxContainers: defaultQuotaConfig.QUOTA_MAX_CONTAINERS,
    overridden: [],
  });
  const user = (await (await ops('/v1/users/newcomer')).json()) as { createdVia?: string };
  expect(user).toMatchObject({ createdVia: 'booking' });
});

test('quotas: defaults, overrides, and who may see them', async () => {
  const alice = (await (await ops('/v1/users/alice/quota')).json()) as Record<string, unknown>;
  expect(alice).toMatchObject({ maxContainers: 5, maxCpuMillis: defaultQuotaConfig.QUOTA_MAX_CPU_MILLIS });
  const mine = await t.call('alice', 'user', '/v1/users/alice/usage');
  expect(mine.status).toBe(200);
  expect(await mine.json()).toMatchObject({ containers: { limit: 5, inUse: 0, held: 0, available: 5 } });
  expect((await t.call('alice', 'user', '/v1/users/bob/quota')).status).toBe(403);
  expect(
    (await t.call('alice', 'user', '/v1/users/alice/quota', json({ maxContainers: 99 }, 'PUT'))).status,
  ).toBe(403);
  const bad = await ops('/v1/users/alice/quota', json({ maxContainers: -1 }, 'PUT'));
  expect(bad.status).toBe(422);
});
