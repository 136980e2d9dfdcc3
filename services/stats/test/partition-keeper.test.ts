// The partition keeper's pass on PGlite (the embedded default's database): it reads the catalogue
// first and makes only what is missing, so a restart with every partition in place writes no DDL.
import { Registry } from 'prom-client';
import { createLogger } from '@testbed/kit';
import { defaultStatsConfig } from '../src';
import { statsMetrics } from '../src/metrics';
import { statsSql, type SqlSession } from '../src/store/sql';
import { listPartitions } from '../src/store/partition-store';
import { PartitionKeeper } from '../src/use-cases/partition-keeper';
import { partitionOf } from '../src/domain/partitions';
import type { Retention } from '../src/domain/tiers';
import type { TestHost } from '../../../test/support/test-host';
import { startStatsHost } from './stats-host';

const H = 3_600_000;
const retention: Retention = {
  rawMs: defaultStatsConfig.STATS_RAW_RETENTION_HOURS * H,
  minuteMs: defaultStatsConfig.STATS_MINUTE_RETENTION_HOURS * H,
  hourMs: defaultStatsConfig.STATS_HOUR_RETENTION_HOURS * H,
};

let host: TestHost | undefined;
afterAll(async () => {
  await host?.stop();
});

/** The statements a session was sent, in order. */
function recording(sql: SqlSession): { session: SqlSession; statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    session: {
      query: (text, params) => {
        statements.push(text.trim());
        return sql.query(text, params);
      },
    },
  };
}

async function created(metrics: ReturnType<typeof statsMetrics>): Promise<number> {
  const metric = await metrics.partitions.get();
  return metric.values.filter((v) => v.labels.action === 'created').reduce((a, v) => a + v.value, 0);
}

test('a restart with every partition in place reads the catalogue and makes none; a missing one is made', async () => {
  // The host's own start has made every tier's partitions over its retention.
  host = await startStatsHost({ name: 'stats-partition-keeper' });
  const sql = statsSql(host.db);
  const now = Date.now();
  expect((await listPartitions(sql, 'hour')).length).toBeGreaterThan(20);

  const metrics = statsMetrics(new Registry());
  const { session, statements } = recording(sql);
  const logger = createLogger({ name: 'test', level: 'silent' });
  const keeper = new PartitionKeeper(session, retention, metrics, logger);
  await keeper.maintain(now);
  expect(statements.filter((s) => /^CREATE/i.test(s))).toEqual([]);
  expect(statements).toHaveLength(3); // one catalogue read per tier
  expect(await created(metrics)).toBe(0);

  // One gone (say, dropped by hand): the next pass makes that one, and only it.
  const today = partitionOf('raw', now);
  await sql.query(`DROP TABLE stats."${today.name}"`);
  statements.length = 0;
  const againMetrics = statsMetrics(new Registry());
  const again = new PartitionKeeper(session, retention, againMetrics, logger);
  await again.maintain(now);
  expect(await created(againMetrics)).toBe(1);
  expect(statements.filter((s) => /^CREATE/i.test(s))).toEqual([expect.stringContaining(`"${today.name}"`)]);
  expect((await listPartitions(sql, 'raw')).map((p) => p.name)).toContain(today.name);
});
