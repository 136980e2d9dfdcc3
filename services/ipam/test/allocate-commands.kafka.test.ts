/**
 * The allocation invariant through the bus: 1,000 `ipam.allocate.requested` commands published
 * concurrently to the real Kafka broker give 1,000 distinct addresses, and publishing the same
 * commands again (same event ids) allocates nothing new.
 */
import { randomUUID } from 'node:crypto';
import { createKafkaPublisher, createLogger, type KafkaPublisher } from '@testbed/kit';
import { rigEnv } from '@testbed/test-support/rig';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createIpamService, defaultIpamConfig, IPAM_COMMANDS, ipamEventTypes } from '../src';

const COMMANDS = 1000;
let t: TestHost;
let publisher: KafkaPublisher;

beforeAll(async () => {
  t = await startTestHost({
    name: 'ipam_bus',
    database: 'postgres',
    bus: 'kafka',
    modules: (deps) => [
      createIpamService({ ...deps, config: { ...defaultIpamConfig, IPAM_SEED_POOLS: false } }),
    ],
  });
  const res = await t.call('ops', 'operator', '/v1/pools', {
    method: 'POST',
    body: JSON.stringify({
      name: 'bulk',
      cidr: '10.100.0.0/22',
      rangeStart: '10.100.0.10',
      rangeEnd: '10.100.3.250',
      gateway: '10.100.0.1',
      segment: 'bulk',
    }),
  });
  expect(res.status).toBe(201);
  publisher = createKafkaPublisher({
    brokers: rigEnv('KAFKA_BROKERS').KAFKA_BROKERS!.split(','),
    clientId: 'ipam-bus-test',
    namespace: t.kafkaNamespace,
    logger: createLogger({ name: 'ipam-bus-test', level: 'silent' }),
  });
  await publisher.connect();
}, 120_000);
afterAll(async () => {
  await publisher?.disconnect();
  await t?.stop();
});

async function consumed(outcome: 'processed' | 'duplicate'): Promise<number> {
  const metric = await t.metrics.getSingleMetric('bus_events_consumed_total')?.get();
  return (metric?.values ?? [])
    .filter(
      (v) => v.labels.consumer === 'ipam' && v.labels.topic === IPAM_COMMANDS && v.labels.outcome === outcome,
    )
    .reduce((sum, v) => sum + v.value, 0);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what} (processed ${await consumed('processed')}, duplicates ${await consumed('duplicate')})`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

const allocationCount = async () =>
  Number(
    (
      await t.db.prisma.$queryRaw<
        { n: bigint }[]
      >`SELECT count(*) AS n FROM ipam.allocation WHERE pool = 'bulk'`
    )[0]?.n,
  );

test('1,000 concurrent allocate commands give 1,000 distinct addresses; a replay allocates nothing', async () => {
  const commands = Array.from({ length: COMMANDS }, (_, i) => {
    const id = randomUUID();
    return {
      id,
      topic: IPAM_COMMANDS,
      key: `op-${i}`,
      headers: {},
      event: {
        specversion: '1.0',
        id,
        source: 'ipam-bus-test',
        type: ipamEventTypes.allocateRequested,
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { pool: 'bulk', owner: `user-${i % 17}` },
      },
    };
  });
  // Concurrently: 20 producers' worth of sends in flight at once.
  const publishAll = () =>
    Promise.all(
      Array.from({ length: 20 }, (_, k) => publisher.publish(commands.filter((_, i) => i % 20 === k))),
    );

  await publishAll();
  await until('1,000 commands processed', async () => (await consumed('processed')) >= COMMANDS, 120_000);
  const rows = await t.db.prisma.$queryRaw<{ ip: string; request_id: string }[]>`
    SELECT ip, request_id FROM ipam.allocation WHERE pool = 'bulk'`;
  expect(rows).toHaveLength(COMMANDS);
  expect(new Set(rows.map((r) => r.ip)).size).toBe(COMMANDS);
  expect(new Set(rows.map((r) => r.request_id))).toEqual(new Set(commands.map((c) => c.id)));

  await publishAll();
  await until('the replay consumed', async () => (await consumed('duplicate')) >= COMMANDS, 120_000);
  expect(await consumed('processed')).toBe(COMMANDS);
  expect(await allocationCount()).toBe(COMMANDS);
}, 300_000);
