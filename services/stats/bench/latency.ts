/**
 * Live latency: from the agent's read of a container's counters (the sample's `t`) to the
 * sample's arrival at a live subscriber. The compiled node agent samples 20 idle containers on
 * node2 every 3 s and publishes to the rig's Kafka; the stats service (its standalone process)
 * fans out to an SSE subscriber in this process. Every clock is this machine's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { loadOrCreateLocalKey, migrateDatabase, signLocalToken } from '@testbed/kit';
import { freshPostgresDatabase, randomSuffix, rigEnv } from '../../../test/support/rig';
import { AGENT_NODE_FLAGS } from '@testbed/node-agent/src/node-flags';
import { startServiceProcess, type ServiceProcess } from '../../../test/support/service-process';
import { openLive } from '../test/live-client';

export interface LatencyFigures {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

export async function benchLatency(
  opts: { containers?: number; seconds?: number } = {},
): Promise<LatencyFigures> {
  const count = opts.containers ?? 20;
  const seconds = opts.seconds ?? 60;
  const env = rigEnv('NODE2_DOCKER_SOCKET', 'KAFKA_BROKERS');
  const docker = new Docker({ socketPath: env.NODE2_DOCKER_SOCKET! });
  const label = `bench-latency-${randomSuffix()}`;
  const namespace = `bench-${randomSuffix()}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-latency-'));
  const database = await freshPostgresDatabase('bench_latency');
  const procs: ServiceProcess[] = [];
  try {
    await migrateDatabase({ url: database.url });
    for (let i = 0; i < count; i++) {
      const c = await docker.createContainer({
        Image: 'testbed/busybox',
        Cmd: ['sleep', '3600'],
        Labels: { [label]: 'yes' },
        HostConfig: { NetworkMode: 'none' },
      });
      await c.start();
    }
    await loadOrCreateLocalKey(dataDir);
    procs.push(
      await startServiceProcess(
        'stats',
        {
          DATABASE_URL: database.url,
          KAFKA_BROKERS: env.KAFKA_BROKERS!,
          KAFKA_NAMESPACE: namespace,
          DATA_DIR: dataDir,
          LOG_LEVEL: 'warn',
        },
        path.join(dataDir, 'stats.log'),
      ),
    );
    procs.push(
      await startServiceProcess(
        'node-agent',
        {
          NODE_AGENT_NODE: 'node2',
          DOCKER_HOST: `unix://${env.NODE2_DOCKER_SOCKET}`,
          NODE_AGENT_LISTEN_HOST: '127.0.0.1',
          KAFKA_BROKERS: env.KAFKA_BROKERS!,
          KAFKA_NAMESPACE: namespace,
          LOG_LEVEL: 'warn',
        },
        path.join(dataDir, 'agent.log'),
        { portVariable: 'NODE_AGENT_PORT', runner: 'compiled', nodeFlags: AGENT_NODE_FLAGS },
      ),
    );
    const token = await signLocalToken(await loadOrCreateLocalKey(dataDir), {
      subject: 'ops',
      role: 'operator',
      issuer: 'testbed-local',
      audience: 'testbed',
    });
    const live = await openLive(`${procs[0]!.url}/v1/stats/live?node=node2`, token);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    live.close();
    const delays = live.messages
      .filter((m) => m.event === 'samples')
      .flatMap((m) =>
        (m.data as { items: { t: string }[] }).items.map((i) => m.receivedAt - Date.parse(i.t)),
      );
    if (delays.length === 0) throw new Error('no live samples arrived');
    return {
      samples: delays.length,
      p50Ms: quantile(delays, 0.5),
      p95Ms: quantile(delays, 0.95),
      maxMs: Math.max(...delays),
    };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    for (const c of await docker.listContainers({ all: true, filters: { label: [label] } }))
      await docker.getContainer(c.Id).remove({ force: true });
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchLatency().then(
    (f) => {
      console.log(
        `live latency: p50 ${f.p50Ms} ms, p95 ${f.p95Ms} ms, max ${f.maxMs} ms over ${f.samples} samples`,
      );
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
