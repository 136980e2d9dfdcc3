/**
 * Issue 9, must show: the broker stopped and started while a node agent and the stats service run
 * on it (a private broker of this file, on the same data both times, so the rig's shared broker is
 * untouched). Samples flow into Postgres again afterwards, and what the agent's full buffer had to
 * drop is counted on its /metrics; what it kept arrives once, in order. The agent is the compiled
 * one on node2, sampling two containers of this file (no network).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import pg from 'pg';
import { migrateDatabase } from '@testbed/kit';
import { AGENT_NODE_FLAGS } from '@testbed/node-agent/src/node-flags';
import { startPrivateKafka, type PrivateKafka } from '../../../test/support/private-kafka';
import { freshPostgresDatabase, randomSuffix, rigEnv } from '../../../test/support/rig';
import { startServiceProcess, type ServiceProcess } from '../../../test/support/service-process';

jest.setTimeout(420_000);

const INTERVAL_MS = 500;
const BUFFER = 10;
const env = rigEnv('NODE2_DOCKER_SOCKET');
const docker = new Docker({ socketPath: env.NODE2_DOCKER_SOCKET! });
const label = `stats-broker-${randomSuffix()}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stats-broker-'));
let kafka: PrivateKafka;
let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
let client: pg.Client;
let stats: ServiceProcess | undefined;
let agent: ServiceProcess | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(probe: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}
/** The agent's figures of `names`, all from one scrape (a batch sent between two would be missed). */
const metrics = async <N extends string>(...names: N[]): Promise<Record<N, number>> => {
  const text = await (await fetch(`${agent!.url}/metrics`)).text();
  const of = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return Object.fromEntries(names.map((n) => [n, of(n)])) as Record<N, number>;
};
const metric = async <N extends string>(name: N): Promise<number> => (await metrics(name))[name];
const storedSince = async (t: Date) =>
  Number(
    (
      await client.query(
        `SELECT count(*)::int AS n FROM stats.sample_raw r JOIN stats.series s ON s.key = r.series
          WHERE s.node = 'node2' AND r.t >= $1`,
        [t],
      )
    ).rows[0].n,
  );

beforeAll(async () => {
  kafka = await startPrivateKafka();
  database = await freshPostgresDatabase('stats_broker');
  await migrateDatabase({ url: database.url });
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  for (let i = 0; i < 2; i++) {
    const c = await docker.createContainer({
      Image: 'testbed/busybox',
      Cmd: ['sleep', '3600'],
      Labels: { [label]: 'yes' },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
  }
  stats = await startServiceProcess(
    'stats',
    {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafka.brokers.join(','),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    path.join(dataDir, 'stats.log'),
  );
  agent = await startServiceProcess(
    'node-agent',
    {
      NODE_AGENT_NODE: 'node2',
      DOCKER_HOST: `unix://${env.NODE2_DOCKER_SOCKET}`,
      NODE_AGENT_LISTEN_HOST: '127.0.0.1',
      NODE_AGENT_INTERVAL_MS: String(INTERVAL_MS),
      NODE_AGENT_BUFFER_BATCHES: String(BUFFER),
      KAFKA_BROKERS: kafka.brokers.join(','),
      LOG_LEVEL: 'warn',
    },
    path.join(dataDir, 'agent.log'),
    { portVariable: 'NODE_AGENT_PORT', runner: 'compiled', nodeFlags: AGENT_NODE_FLAGS },
  );
});

afterAll(async () => {
  await agent?.stop();
  await stats?.stop();
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } }))
    await docker.getContainer(c.Id).remove({ force: true });
  await client?.end();
  await database?.drop();
  await kafka?.destroy();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('after a broker outage samples flow again; the dropped batches are counted, the kept ones stored once', async () => {
  const t0 = new Date();
  await until(async () => (await storedSince(t0)) >= 10, 60_000, 'samples stored before the outage');
  expect(await metric('node_agent_batches_dropped_total')).toBe(0);

  await kafka.stop();
  // Long enough for the buffer of 10 batches (5 s) to overflow several times over.
  await sleep(15_000);
  const dropped = await metric('node_agent_batches_dropped_total');
  expect(dropped).toBeGreaterThan(5);
  await kafka.start();
  const up = new Date();

  // Samples read after the restart reach the database, through the same consumer group.
  await until(async () => (await storedSince(up)) >= 10, 90_000, 'samples stored after the restart');
  // Every consumer group and the producer are back: ready again (KafkaJS's rejoin backs off, and
  // more so on a loaded machine: the bound is generous, the assertion is that it comes back).
  await until(async () => (await fetch(`${stats!.url}/readyz`)).status === 200, 120_000, 'stats ready again');
  // The batches the buffer kept through the outage came in too: its last seconds are stored.
  const kept = Number(
    (
      await client.query(
        `SELECT count(*)::int AS n FROM stats.sample_raw r JOIN stats.series s ON s.key = r.series
          WHERE s.node = 'node2' AND r.t >= $1 AND r.t < $2`,
        [new Date(up.getTime() - (BUFFER / 2) * INTERVAL_MS), up],
      )
    ).rows[0].n,
  );
  expect(kept).toBeGreaterThan(0);
  // Quiet the node (its containers stopped: batches go on, empty), then account for every batch:
  // each sample the broker took is stored exactly once, and every batch made was sent or dropped.
  for (const c of await docker.listContainers({ filters: { label: [label] } }))
    await docker.getContainer(c.Id).stop({ t: 0 });
  await sleep(3 * INTERVAL_MS);
  const all = async () =>
    Number(
      (
        await client.query(
          `SELECT count(*)::int AS n FROM stats.sample_raw r JOIN stats.series s ON s.key = r.series WHERE s.node = 'node2'`,
        )
      ).rows[0].n,
    );
  // Settled: the agent's count of samples the broker took no longer moves, and is what is stored.
  const settled = await until(
    async () => {
      const before = await metric('node_agent_samples_sent_total');
      const stored = await all();
      await sleep(2 * INTERVAL_MS);
      const after = await metric('node_agent_samples_sent_total');
      return before === after && stored === (await all()) ? { sent: after, stored } : undefined;
    },
    30_000,
    'the counts to settle',
  );
  expect(settled.stored).toBe(settled.sent);
  const dupes = await client.query(
    `SELECT count(*)::int - count(DISTINCT (series, t))::int AS n FROM stats.sample_raw`,
  );
  expect(dupes.rows[0].n).toBe(0);
  const counts = await metrics(
    'node_agent_batches_made_total',
    'node_agent_batches_sent_total',
    'node_agent_batches_dropped_total',
    'node_agent_buffer_batches',
  );
  const nowDropped = counts.node_agent_batches_dropped_total;
  expect(counts.node_agent_batches_made_total).toBe(
    counts.node_agent_batches_sent_total + nowDropped + counts.node_agent_buffer_batches,
  );
  expect(nowDropped).toBeGreaterThanOrEqual(dropped);
});
