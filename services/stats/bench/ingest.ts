/**
 * Ingest throughput: a backlog of sample batches in the agents' format is put on the rig's Kafka,
 * then the stats service (its standalone process) ingests it into the rig's Postgres; rows
 * committed per second over 60 s are counted in the database. Baseline in the same run: the same
 * rows written by plain `pg` COPY, no decoding, no derivation, no Kafka.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createKafkaRecordProducer, createLogger, deleteKafkaTopics, migrateDatabase } from '@testbed/kit';
import { STATS_SAMPLES_TOPIC } from '@testbed/node-agent';
import { freshPostgresDatabase, randomSuffix, rigEnv } from '../../../test/support/rig';
import { startServiceProcess } from '../../../test/support/service-process';
import { fleetOf, fleetRecords } from '../test/batches';

export interface IngestFigures {
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  copyRowsPerSecond: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchIngest(
  opts: { nodes?: number; containers?: number; intervals?: number; windowSeconds?: number } = {},
): Promise<IngestFigures> {
  const nodes = opts.nodes ?? 200;
  const containers = opts.containers ?? 100;
  // 6 M samples: more than 60 s of ingest at 90 k/s, so the window is sustained, not a burst.
  const intervals = opts.intervals ?? 300;
  const windowSeconds = opts.windowSeconds ?? 60;
  const total = nodes * containers * intervals;
  const env = rigEnv('DATABASE_URL', 'KAFKA_BROKERS');
  const namespace = `bench-${randomSuffix()}`;
  const database = await freshPostgresDatabase('bench_ingest');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-'));
  const client = new pg.Client({ connectionString: database.url });
  const producer = createKafkaRecordProducer({
    brokers: env.KAFKA_BROKERS!.split(','),
    clientId: 'bench-ingest',
    logger: createLogger({ name: 'bench', level: 'silent' }),
    namespace,
  });
  let stats: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  try {
    await migrateDatabase({ url: database.url });
    await client.connect();
    await producer.connect();
    const base = Date.now() - intervals * 3000 - 60_000;
    const fleet = fleetOf('bench-node', nodes, containers);
    process.stdout.write(
      `  putting ${total.toLocaleString()} samples (${nodes * intervals} batches) on Kafka… `,
    );
    const putStarted = Date.now();
    for (let i = 0; i < intervals; i++) {
      await producer.send(
        STATS_SAMPLES_TOPIC,
        fleetRecords(fleet, base, i, (_ref, k) => ({
          cpuUsec: i * 1_500_000 + k,
          offsetMs: k % 7,
          interfaces: [{ name: 'eth0', rxBytes: i * 1500 + k, rxPackets: i, txBytes: i * 900, txPackets: i }],
        })),
      );
    }
    process.stdout.write(`${((Date.now() - putStarted) / 1000).toFixed(1)} s\n`);

    const count = async () =>
      Number((await client.query(`SELECT count(*)::float8 AS n FROM stats.sample_raw`)).rows[0].n);
    stats = await startServiceProcess(
      'stats',
      {
        DATABASE_URL: database.url,
        KAFKA_BROKERS: env.KAFKA_BROKERS!,
        KAFKA_NAMESPACE: namespace,
        DATA_DIR: dataDir,
        LOG_LEVEL: process.env.BENCH_VERBOSE ? 'info' : 'warn',
      },
      path.join(dataDir, 'stats.log'),
    );
    const deadline = Date.now() + 120_000;
    while ((await count()) === 0 && Date.now() < deadline) await sleep(100);
    const t0 = Date.now();
    const c0 = await count();
    let last = c0;
    while (Date.now() - t0 < windowSeconds * 1000 && last < total) {
      await sleep(500);
      last = await count();
    }
    const seconds = (Date.now() - t0) / 1000;
    const samplesPerSecond = (last - c0) / seconds;

    // Baseline: plain COPY of as many rows of the same shape into a table with the same index.
    await client.query(`CREATE TABLE copy_baseline (LIKE stats.sample_raw)`);
    await client.query(`CREATE INDEX ON copy_baseline (series, t)`);
    const rows = Math.min(total, 1_000_000);
    const copyStarted = Date.now();
    for (let done = 0; done < rows; done += 10_000) {
      let text = '';
      for (let k = 0; k < 10_000; k++) {
        const t = new Date(base + (done + k) * 3).toISOString();
        text += `${k}\t${t}\t${done * 10}\t50\t\\N\t29360128\t67108864\t${done}\t${done}\t${k}\t${k}\t1000\t300\t3\n`;
      }
      await pipeline(Readable.from([text]), client.query(copyFrom('COPY copy_baseline FROM STDIN')));
    }
    const copyRowsPerSecond = rows / ((Date.now() - copyStarted) / 1000);
    return { samples: last - c0, seconds, samplesPerSecond, copyRowsPerSecond };
  } finally {
    if (process.env.BENCH_VERBOSE) process.stdout.write(stats?.logTail(60) ?? '');
    await stats?.stop();
    await producer.disconnect().catch(() => undefined);
    // The backlog is a few hundred MB: give the broker its disk back.
    await deleteKafkaTopics({
      brokers: env.KAFKA_BROKERS!.split(','),
      logger: createLogger({ name: 'bench', level: 'silent' }),
      topics: ['testbed.stats.samples', 'testbed.node.heartbeats', 'testbed.provisioning.events'].map(
        (t) => `${namespace}.${t}`,
      ),
    }).catch(() => undefined);
    await client.end().catch(() => undefined);
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchIngest().then(
    (f) => {
      console.log(
        `ingest: ${Math.round(f.samplesPerSecond).toLocaleString()} samples/s committed over ${f.seconds.toFixed(1)} s ` +
          `(${f.samples.toLocaleString()} samples); plain COPY ${Math.round(f.copyRowsPerSecond).toLocaleString()} rows/s ` +
          `(ingest/COPY ${(f.samplesPerSecond / f.copyRowsPerSecond).toFixed(2)})`,
      );
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
