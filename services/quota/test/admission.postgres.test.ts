/**
 * Admission under concurrency, through the real broker: with a limit of 10 containers, 50
 * concurrent requests of one container each give exactly 10 grants, whichever of two quota
 * replicas decides them; a redelivery (same event ids) or a re-sent command (same request id)
 * decides nothing again; after 3 releases, 3 more are granted.
 */
import { randomUUID } from 'node:crypto';
import { createKafkaPublisher, createLogger, enqueueEvent, type OutboxMessage } from '@testbed/kit';
import { rigEnv } from '@testbed/test-support/rig';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import {
  createQuotaService,
  defaultQuotaConfig,
  QUOTA_COMMANDS,
  QUOTA_EVENTS,
  quotaEventTypes,
} from '../src';

const config = {
  ...defaultQuotaConfig,
  QUOTA_KNOWN_NODES: 'node1',
  QUOTA_ENFORCE_RESERVATIONS: false,
  QUOTA_MAX_CONTAINERS: 10,
};
let a: TestHost;
let b: TestHost;

beforeAll(async () => {
  a = await startTestHost({
    name: 'quota_admit',
    database: 'postgres',
    bus: 'kafka',
    modules: (deps) => [createQuotaService({ ...deps, config })],
  });
  b = await startTestHost({
    name: 'quota_admit_b',
    database: { url: a.databaseUrl },
    bus: 'kafka',
    kafkaNamespace: a.kafkaNamespace,
    modules: (deps) => [createQuotaService({ ...deps, config })],
  });
}, 180_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

/** Sends the commands as provisioning does: through the outbox, each in its own transaction, all at once. */
async function send(type: string, datas: Record<string, unknown>[]): Promise<void> {
  await Promise.all(
    datas.map((data) =>
      a.db.prisma.$transaction((tx) =>
        enqueueEvent(tx, {
          source: 'provisioning',
          topic: QUOTA_COMMANDS,
          key: String(data.requestId),
          type,
          data,
        }),
      ),
    ),
  );
}

async function decisions(
  requestIds: string[],
): Promise<Map<string, { decision: string; reason: string | null }>> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const rows = await a.db.prisma.$queryRaw<
      { request_id: string; decision: string; reason: string | null }[]
    >`
      SELECT request_id, decision::text, reason FROM quota.admission WHERE request_id = ANY(${requestIds})`;
    if (rows.length === requestIds.length) return new Map(rows.map((r) => [r.request_id, r]));
    if (Date.now() > deadline)
      throw new Error(`only ${rows.length} of ${requestIds.length} admissions decided`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Answers of one kind (`granted` / `rejected`) the service wrote for these request ids. */
async function answers(kind: 'granted' | 'rejected', requestIds: string[]): Promise<number> {
  const type = kind === 'granted' ? quotaEventTypes.reserveGranted : quotaEventTypes.reserveRejected;
  const [row] = await a.db.prisma.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM bus.outbox
    WHERE topic = ${QUOTA_EVENTS} AND event->>'type' = ${type} AND event->'data'->>'requestId' = ANY(${requestIds})`;
  return Number(row!.n);
}

async function consumedAcrossReplicas(outcome: 'processed' | 'duplicate'): Promise<number> {
  let sum = 0;
  for (const host of [a, b]) {
    const metric = await host.metrics.getSingleMetric('bus_events_consumed_total')?.get();
    for (const v of metric?.values ?? []) {
      if (v.labels.consumer === 'quota' && v.labels.topic === QUOTA_COMMANDS && v.labels.outcome === outcome)
        sum += v.value;
    }
  }
  return sum;
}

/** Publishes the admission commands already in the outbox once more, with their own event ids. */
async function replayCommands(): Promise<void> {
  const rows = await a.db.prisma.$queryRaw<OutboxMessage[]>`
    SELECT id::text AS id, topic, key, event, headers FROM bus.outbox
    WHERE topic = ${QUOTA_COMMANDS} AND event->>'type' = ${quotaEventTypes.reserveRequested}`;
  const publisher = createKafkaPublisher({
    brokers: rigEnv('KAFKA_BROKERS').KAFKA_BROKERS!.split(','),
    clientId: 'quota-replay-test',
    namespace: a.kafkaNamespace,
    logger: createLogger({ name: 'quota-replay-test', level: 'silent' }),
  });
  await publisher.connect();
  try {
    await publisher.publish(rows);
  } finally {
    await publisher.disconnect();
  }
}

const request = (requestId: string) => ({
  requestId,
  user: 'carol',
  node: 'node1',
  count: 1,
  cpuMillis: 100,
  memoryBytes: 64 * 1024 ** 2,
  addresses: 1,
});

test('exactly 10 of 50 concurrent requests are granted, replays change nothing, after 3 releases exactly 3 more', async () => {
  const first = Array.from({ length: 50 }, () => randomUUID());
  await send(quotaEventTypes.reserveRequested, first.map(request));
  const decided = await decisions(first);
  const granted = first.filter((id) => decided.get(id)!.decision === 'granted');
  expect(granted).toHaveLength(10);
  const refused = first.find((id) => decided.get(id)!.decision === 'rejected')!;
  expect(decided.get(refused)!.reason).toBe('limit 10 containers, 10 in use, 1 requested');
  // Each request was decided once, whichever replica took it.
  const processed = await a.db.prisma.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM bus.processed_event WHERE consumer = 'quota'`;
  expect(Number(processed[0]!.n)).toBe(50);

  // The same commands again (same event ids, as a redelivery): nothing is decided twice.
  await replayCommands();
  await until('the replay was consumed', async () => (await consumedAcrossReplicas('duplicate')) >= 50);
  expect(await answers('granted', first)).toBe(10);
  // Re-sent with new event ids but the same request ids: the same decisions, answered again.
  await send(quotaEventTypes.reserveRequested, first.map(request));
  await until(
    'the re-sent commands were answered',
    async () => (await answers('granted', first)) + (await answers('rejected', first)) === 100,
  );
  expect(await answers('granted', first)).toBe(20);
  const admissions = await a.db.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM quota.admission`;
  expect(Number(admissions[0]!.n)).toBe(50);

  await send(
    quotaEventTypes.releaseRequested,
    granted.slice(0, 3).map((requestId) => ({ requestId })),
  );
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [row] = await a.db.prisma.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM quota.admission WHERE released_at IS NOT NULL`;
    if (Number(row!.n) === 3) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const second = Array.from({ length: 10 }, () => randomUUID());
  await send(quotaEventTypes.reserveRequested, second.map(request));
  const again = await decisions(second);
  expect(second.filter((id) => again.get(id)!.decision === 'granted')).toHaveLength(3);

  const usage = (await (await a.call('ops', 'operator', '/v1/users/carol/usage')).json()) as {
    containers: { held: number; available: number };
  };
  expect(usage.containers).toMatchObject({ held: 10, available: 0 });
}, 240_000);
