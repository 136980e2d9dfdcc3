/**
 * Reservation rules beyond booking (PGlite, in-process bus, injected clock): users booking for
 * themselves, the concurrent-reservation limit, Idempotency-Key, and what cancelling or extending
 * a reservation under way emits.
 */
import { ManualClock } from '@testbed/test-support/clock';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createQuotaService, defaultQuotaConfig, RESERVATION_EVENTS, type QuotaConfig } from '../src';

const clock = new ManualClock(new Date('2030-04-01T08:00:00Z'));
// One object the service reads at each request, so a test can switch a setting.
const config: QuotaConfig = {
  ...defaultQuotaConfig,
  QUOTA_KNOWN_NODES: 'node1,node2,node3',
  QUOTA_SCHEDULER_INTERVAL_MS: 50,
  QUOTA_ENDING_LEAD_SECONDS: 600,
};
let t: TestHost;
const at = (minutes: number) => new Date(clock.now().getTime() + minutes * 60_000).toISOString();
const json = (body: unknown, method = 'POST'): RequestInit => ({ method, body: JSON.stringify(body) });
const rs = (pathname: string, init?: RequestInit) => t.call('reservation-system', 'service', pathname, init);

beforeAll(async () => {
  t = await startTestHost({
    name: 'quota-rules',
    database: 'pglite',
    bus: 'in-process',
    clock,
    modules: (deps) => [createQuotaService({ ...deps, config })],
  });
});
afterAll(() => t.stop());

async function lifecycle(id: string): Promise<{ type: string; reason: string | null }[]> {
  return t.db.prisma.$queryRaw<{ type: string; reason: string | null }[]>`
    SELECT event->>'type' AS type, event->'data'->>'reason' AS reason FROM bus.outbox
    WHERE topic = ${RESERVATION_EVENTS} AND key = ${id} AND event->>'type' NOT IN ('reservation.created', 'reservation.updated')
    ORDER BY seq`;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Several scheduler periods at the current instant. */
const settle = () => new Promise((r) => setTimeout(r, 300));

test('a user books for themselves only, and only where configuration allows', async () => {
  const mine = await t.call(
    'fay',
    'user',
    '/v1/reservations',
    json({ user: 'fay', nodes: ['node1'], start: at(60), end: at(120) }),
  );
  expect(mine.status).toBe(201); // fay became known from her token
  const other = await t.call(
    'fay',
    'user',
    '/v1/reservations',
    json({ user: 'gus', nodes: ['node1'], start: at(200), end: at(260) }),
  );
  expect(other.status).toBe(403);
  const { id } = (await mine.json()) as { id: string };
  expect((await t.call('gus', 'user', `/v1/reservations/${id}`)).status).toBe(403);
  const listed = (await (await t.call('fay', 'user', '/v1/reservations')).json()) as {
    items: { user: string }[];
  };
  expect(listed.items.map((i) => i.user)).toEqual(['fay']);

  config.QUOTA_USERS_BOOK_SELF = false;
  try {
    const refused = await t.call(
      'fay',
      'user',
      '/v1/reservations',
      json({ user: 'fay', nodes: ['node2'], start: at(60), end: at(120) }),
    );
    expect(refused.status).toBe(403);
    expect((await t.call('fay', 'user', `/v1/reservations/${id}`, { method: 'DELETE' })).status).toBe(403);
  } finally {
    config.QUOTA_USERS_BOOK_SELF = true;
  }
});

test('the concurrent-reservation limit counts reservations at one instant', async () => {
  const book = (start: number, end: number, node: string) =>
    rs('/v1/reservations', json({ user: 'fay', nodes: [node], start: at(start), end: at(end) }));
  // fay holds node1 60–120 from the test above; the default limit is 2 at once.
  expect((await book(90, 150, 'node2')).status).toBe(201);
  const third = await book(100, 110, 'node3');
  expect(third.status).toBe(409);
  expect(await third.json()).toMatchObject({
    type: expect.stringMatching(/reservation-limit$/),
    limit: 2,
    atOnce: 3,
  });
  expect((await book(125, 140, 'node3')).status).toBe(201); // only node2's overlaps it
});

test('the same Idempotency-Key and body book once', async () => {
  const init = {
    ...json({ user: 'fay', nodes: ['node3'], start: at(300), end: at(310) }),
    headers: { 'idempotency-key': 'k-1' },
  };
  const first = await rs('/v1/reservations', init);
  const second = await rs('/v1/reservations', init);
  expect([first.status, second.status]).toEqual([201, 200]);
  expect(((await second.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
});

test('cancelling a reservation under way ends it at once, once', async () => {
  // hal has not been seen before: the reservation system booking for hal makes hal known (issue 11).
  const body = json({ user: 'hal', nodes: ['node1'], start: at(400), end: at(460) });
  const booked = await rs('/v1/reservations', body);
  expect(booked.status).toBe(201);
  const { id } = (await booked.json()) as { id: string };

  clock.advance(400 * 60_000);
  await until('started', async () => (await lifecycle(id)).length === 1);
  expect((await rs(`/v1/reservations/${id}`, { method: 'DELETE' })).status).toBe(204);
  expect((await rs(`/v1/reservations/${id}`, { method: 'DELETE' })).status).toBe(204);
  expect(await (await rs(`/v1/reservations/${id}`)).json()).toMatchObject({ state: 'cancelled' });
  // The node is free again at once.
  const free = await rs(
    '/v1/reservations',
    json({ user: 'fay', nodes: ['node1'], start: at(1), end: at(30) }),
  );
  expect(free.status).toBe(201);

  clock.advance(120 * 60_000);
  await settle();
  expect(await lifecycle(id)).toEqual([
    { type: 'reservation.started', reason: null },
    { type: 'reservation.cancelled', reason: null },
    { type: 'reservation.ended', reason: 'cancelled' },
  ]);
  expect((await rs(`/v1/reservations/${id}`, json({ end: at(600) }, 'PATCH'))).status).toBe(409);
});

test('extending after the ending warning warns again before the new end', async () => {
  const booked = await rs(
    '/v1/reservations',
    json({ user: 'hal', nodes: ['node2'], start: at(1), end: at(30) }),
  );
  expect(booked.status).toBe(201);
  const { id } = (await booked.json()) as { id: string };
  clock.advance(21 * 60_000); // inside the 10-minute lead
  await until('ending', async () => (await lifecycle(id)).length === 2);
  expect((await rs(`/v1/reservations/${id}`, json({ end: at(60) }, 'PATCH'))).status).toBe(200);
  await settle();
  expect((await lifecycle(id)).map((e) => e.type)).toEqual(['reservation.started', 'reservation.ending']);
  clock.advance(50 * 60_000);
  await until('ending again', async () => (await lifecycle(id)).length === 3);
  clock.advance(10 * 60_000);
  await until('ended', async () => (await lifecycle(id)).length === 4);
  expect((await lifecycle(id)).map((e) => e.type)).toEqual([
    'reservation.started',
    'reservation.ending',
    'reservation.ending',
    'reservation.ended',
  ]);
});
