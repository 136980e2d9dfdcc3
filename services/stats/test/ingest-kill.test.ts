/**
 * Issue 9, must show: the stats service killed (SIGKILL) mid-ingest and started again: for every
 * container no sample is lost and none is stored twice, compared with what was published. stats
 * runs as its own process (the standalone host) on a fresh database of the rig's Postgres and the
 * rig's Kafka (a namespace of this file's own); this file publishes batches in the agents' format.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  createKafkaRecordProducer,
  createLogger,
  migrateDatabase,
  type KafkaRecordProducer,
} from '@testbed/kit';
import { STATS_SAMPLES_TOPIC } from '@testbed/node-agent';
import { freshPostgresDatabase, randomSuffix, rigEnv } from '../../../test/support/rig';
import { startServiceProcess, type ServiceProcess } from '../../../test/support/service-process';
import { fleetOf, fleetRecords } from './batches';

jest.setTimeout(300_000);

const NODES = 8;
const CONTAINERS = 60;
const INTERVALS = 150;
const TOTAL = NODES * CONTAINERS * INTERVALS;
const namespace = `test-${randomSuffix()}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stats-kill-'));
const logFile = path.join(dataDir, 'stats.log');
let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
let client: pg.Client;
let producer: KafkaRecordProducer;
let stats: ServiceProcess | undefined;

const start = () =>
  startServiceProcess(
    'stats',
    {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: rigEnv('KAFKA_BROKERS').KAFKA_BROKERS!,
      KAFKA_NAMESPACE: namespace,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    },
    logFile,
  );

const stored = async () =>
  Number((await client.query(`SELECT count(*)::int AS n FROM stats.sample_raw`)).rows[0].n);

beforeAll(async () => {
  database = await freshPostgresDatabase('stats_kill');
  await migrateDatabase({ url: database.url });
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  producer = createKafkaRecordProducer({
    brokers: rigEnv('KAFKA_BROKERS').KAFKA_BROKERS!.split(','),
    clientId: 'stats-kill-test',
    logger: createLogger({ name: 'stats-kill', level: 'silent' }),
    namespace,
  });
  await producer.connect();
});

afterAll(async () => {
  await stats?.stop();
  await producer?.disconnect();
  await client?.end();
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('killed twice mid-ingest, stats stores every published sample exactly once', async () => {
  stats = await start();
  const fleet = fleetOf('kill-node', NODES, CONTAINERS);
  const base = Date.now() - 20 * 60_000;
  const kills: { at: number; storedThen: number }[] = [];

  // One batch per node every 40 ms; two kills while rows are still coming in. The last tenth
  // waits for both kills, so each kill comes before everything was stored, however quickly a
  // restarted process drains the backlog.
  let killed = false;
  const publishing = (async () => {
    for (let i = 0; i < INTERVALS; i++) {
      if (i === Math.floor(INTERVALS * 0.9)) {
        const until = Date.now() + 300_000;
        while (!killed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      }
      await producer.send(
        STATS_SAMPLES_TOPIC,
        fleetRecords(fleet, base, i, (_ref, k) => ({ cpuUsec: i * 30_000 * (k % 7), offsetMs: k % 5 })),
      );
      await new Promise((r) => setTimeout(r, 40));
    }
  })();

  for (const fraction of [0.15, 0.5]) {
    const deadline = Date.now() + 120_000;
    while ((await stored()) < TOTAL * fraction && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    kills.push({ at: Date.now(), storedThen: await stored() });
    stats.signal('SIGKILL');
    await stats.exited;
    stats = await start();
  }
  killed = true;
  await publishing;

  const deadline = Date.now() + 120_000;
  while ((await stored()) < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  // A little longer: a duplicate would show up as more than TOTAL.
  await new Promise((r) => setTimeout(r, 3000));

  for (const k of kills) {
    expect(k.storedThen).toBeGreaterThan(0);
    expect(k.storedThen).toBeLessThan(TOTAL);
  }
  const totals = (
    await client.query(
      `SELECT count(*)::int AS n, count(DISTINCT (series, t))::int AS distinct_n FROM stats.sample_raw`,
    )
  ).rows[0];
  expect(totals).toEqual({ n: TOTAL, distinct_n: TOTAL });
  // Every container: each of its INTERVALS samples, at the times published.
  const per = await client.query(
    `SELECT s.node, s.ref, count(*)::int AS n, min(r.t) AS first, max(r.t) AS last
       FROM stats.sample_raw r JOIN stats.series s ON s.key = r.series GROUP BY s.node, s.ref`,
  );
  expect(per.rows).toHaveLength(NODES * CONTAINERS);
  const published = new Map(fleet.nodes.flatMap((n) => n.refs.map((ref, k) => [`${n.name}/${ref}`, k % 5])));
  for (const row of per.rows as { node: string; ref: string; n: number; first: Date; last: Date }[]) {
    const offset = published.get(`${row.node}/${row.ref}`);
    expect(offset).toBeDefined();
    expect(row.n).toBe(INTERVALS);
    expect(row.first.getTime()).toBe(base + offset!);
    expect(row.last.getTime()).toBe(base + (INTERVALS - 1) * 3000 + offset!);
  }
  const negative = await client.query(`SELECT count(*)::int AS n FROM stats.sample_raw WHERE cpu_pct < 0`);
  expect(negative.rows[0].n).toBe(0);
  process.stdout.write(
    `stats kill test: ${TOTAL} samples, killed at ${kills.map((k) => k.storedThen).join(' and ')} stored rows\n`,
  );
});
