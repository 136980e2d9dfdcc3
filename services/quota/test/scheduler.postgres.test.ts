/**
 * The reservation scheduler under an injected clock: started, ending (the lead time before the
 * end) and ended are emitted at their instants, once each, with two replicas' schedulers running
 * against one database at once.
 */
import { ManualClock } from '@testbed/test-support/clock';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createQuotaService, defaultQuotaConfig, RESERVATION_EVENTS } from '../src';

const clock = new ManualClock(new Date('2030-06-01T12:00:00Z'));
const config = {
  ...defaultQuotaConfig,
  QUOTA_KNOWN_NODES: 'node1',
  QUOTA_SCHEDULER_INTERVAL_MS: 50,
  QUOTA_ENDING_LEAD_SECONDS: 600,
};
let a: TestHost;
let b: TestHost;

beforeAll(async () => {
  a = await startTestHost({
    name: 'quota_sched',
    database: 'postgres',
    bus: 'in-process',
    clock,
    modules: (deps) => [createQuotaService({ ...deps, config })],
  });
  b = await startTestHost({
    name: 'quota_sched_b',
    database: { url: a.databaseUrl },
    bus: 'in-process',
    clock,
    modules: (deps) => [createQuotaService({ ...deps, config })],
  });
  expect(
    (await a.call('ops', 'operator', '/v1/users/dora/quota', { method: 'PUT', body: '{}' })).status,
  ).toBe(201);
}, 120_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

async function lifecycle(reservationId: string): Promise<{ type: string; time: string }[]> {
  return a.db.prisma.$queryRaw<{ type: string; time: string }[]>`
    SELECT event->>'type' AS type, event->>'time' AS time FROM bus.outbox
    WHERE topic = ${RESERVATION_EVENTS} AND key = ${reservationId}
      AND event->>'type' IN ('reservation.started', 'reservation.ending', 'reservation.ended')
    ORDER BY seq`;
}

async function passCounts(): Promise<number[]> {
  return Promise.all(
    [a, b].map(async (host) => {
      const metric = await host.metrics.getSingleMetric('quota_scheduler_passes_total')?.get();
      return metric?.values[0]?.value ?? 0;
    }),
  );
}

/**
 * Waits until each replica's scheduler has finished two more passes: a pass that began before
 * the clock moved finishes once, so the second began after it and saw the new instant.
 */
async function passes(): Promise<void> {
  const before = await passCounts();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = await passCounts();
    if (now.every((n, i) => n >= before[i]! + 2)) return;
    if (Date.now() > deadline) throw new Error(`schedulers did not run: ${before} → ${now} passes`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('started, ending and ended come at their instants, once each, with two schedulers', async () => {
  const start = new Date(clock.now().getTime() + 30 * 60_000);
  const end = new Date(start.getTime() + 60 * 60_000);
  const res = await a.call('reservation-system', 'service', '/v1/reservations', {
    method: 'POST',
    body: JSON.stringify({
      user: 'dora',
      nodes: ['node1'],
      start: start.toISOString(),
      end: end.toISOString(),
    }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };

  const steps: [Date, string[]][] = [
    [new Date(start.getTime() - 1000), []],
    [start, ['reservation.started']],
    [new Date(end.getTime() - 600_000 - 1000), ['reservation.started']],
    [new Date(end.getTime() - 600_000), ['reservation.started', 'reservation.ending']],
    [new Date(end.getTime() - 1000), ['reservation.started', 'reservation.ending']],
    [end, ['reservation.started', 'reservation.ending', 'reservation.ended']],
    [new Date(end.getTime() + 3600_000), ['reservation.started', 'reservation.ending', 'reservation.ended']],
  ];
  for (const [instant, expected] of steps) {
    clock.set(instant);
    await passes();
    const events = await lifecycle(id);
    expect(events.map((e) => e.type)).toEqual(expected);
  }
  const events = await lifecycle(id);
  expect(events.map((e) => e.time)).toEqual([
    start.toISOString(),
    new Date(end.getTime() - 600_000).toISOString(),
    end.toISOString(),
  ]);
  const state = (await (await a.call('ops', 'operator', `/v1/reservations/${id}`)).json()) as {
    state: string;
  };
  expect(state.state).toBe('ended');
}, 120_000);
