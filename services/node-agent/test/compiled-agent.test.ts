/**
 * The production build: `npm run build`'s bundle of src/main.ts, npm packages included (as
 * services/node-agent/Dockerfile's image holds it), run with plain
 * `node` from a folder outside the repository against node3 and the rig's Kafka. It serves its
 * three endpoints, publishes, and stops cleanly on SIGTERM; a bad environment exits 2.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKafkaClient } from '@testbed/kit/src/bus/kafka/kafka-client';
import { createKafkaRecordConsumer } from '@testbed/kit/src/bus/kafka/kafka-records';
import { createLogger } from '@testbed/kit/src/log/logger';
import { buildService } from '../../../deploy/build/build';
import { randomSuffix, rigEnv } from '../../../test/support/rig';
import { decodeSampleBatch } from '../src/wire/codec';
import { STATS_SAMPLES_TOPIC } from '../src/wire/heartbeat';
import type { SampleBatch } from '../src/wire/sample-batch';
import { rigNode, until } from './support/rig-docker';

const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-build-'));
const main = path.join(outRoot, 'node-agent', 'main.js');
const node = rigNode('node3');
const kafkaBrokers = rigEnv('KAFKA_BROKERS').KAFKA_BROKERS!;
const namespace = `agent-build-${randomSuffix()}`;
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(outRoot, { recursive: true, force: true });
});

test('the bundle holds only the agent’s npm packages: never the kit’s index (Prisma, Express, the OpenTelemetry SDK)', async () => {
  const r = await buildService('node-agent', { nodeModules: true, outRoot });
  // Everything it loads is inside bundle.js: nothing comes from node_modules at run time.
  expect(r.external).toEqual([]);
  expect(r.copied).toBe(0);
  expect(r.bundled).toEqual(expect.arrayContaining(['dockerode', 'docker-modem', 'kafkajs', 'pino', 'zod']));
  for (const pkg of [
    'express',
    '@prisma/client',
    '@electric-sql/pglite',
    '@opentelemetry/sdk-node',
    'ssh2',
    'pg',
  ])
    expect(r.bundled).not.toContain(pkg);
  // ssh2 is replaced by the module that refuses, with the package.json's reason.
  expect(fs.readFileSync(path.join(outRoot, 'node-agent', 'bundle.js'), 'utf8')).toContain(
    'the node agent reaches its daemon over a unix socket or tcp://, never ssh://',
  );
}, 60_000);

test('a bad environment: every problem listed, exit code 2', () => {
  const r = spawnSync(process.execPath, [main], {
    cwd: outRoot,
    env: { PATH: process.env.PATH, NODE_AGENT_INTERVAL_MS: 'soon', DOCKER_HOST: 'ssh://node' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(r.status).toBe(2);
  for (const variable of ['NODE_AGENT_NODE', 'KAFKA_BROKERS', 'NODE_AGENT_INTERVAL_MS', 'DOCKER_HOST'])
    expect(r.stderr).toContain(`${variable}:`);
});

test('plain node runs it: ready, publishing batches to Kafka, and a clean stop on SIGTERM', async () => {
  const lines: string[] = [];
  const proc = spawn(process.execPath, [main], {
    cwd: outRoot,
    env: {
      PATH: process.env.PATH,
      NODE_AGENT_NODE: 'node3',
      DOCKER_HOST: node.dockerHost,
      KAFKA_BROKERS: kafkaBrokers,
      KAFKA_NAMESPACE: namespace,
      NODE_AGENT_INTERVAL_MS: '500',
      NODE_AGENT_PORT: '0',
      NODE_AGENT_LISTEN_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => lines.push(...d.toString('utf8').split('\n').filter(Boolean)));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const url = await until(
    'the serving log line',
    () => {
      for (const l of lines) {
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(l);
        if (m) return m[1];
      }
      if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${err}`);
      return undefined;
    },
    20_000,
  );
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const ready = await until(
    'ready',
    async () => {
      const r = await fetch(`${url}/readyz`);
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
    },
    20_000,
    200,
  );
  expect(ready).toMatchObject({
    node: 'node3',
    source: 'cgroup-v1',
    docker: 'connected',
    broker: 'connected',
  });
  const metrics = await until(
    'a batch sent',
    async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return /^node_agent_batches_sent_total [1-9]/m.test(text) ? text : undefined;
    },
    10_000,
    100,
  );
  expect(metrics).toMatch(/^node_agent_heartbeats_sent_total [1-9]/m);
  expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);

  const logger = createLogger({ name: 'compiled-test', level: 'silent' });
  const batches: SampleBatch[] = [];
  const consumer = createKafkaRecordConsumer({
    kafka: createKafkaClient({ brokers: kafkaBrokers.split(','), clientId: 'compiled-test', logger }),
    sub: {
      group: 'compiled-test',
      topics: [STATS_SAMPLES_TOPIC],
      async handle(records) {
        for (const r of records) batches.push(decodeSampleBatch(r.value));
      },
    },
    logger,
    namespace,
  });
  await consumer.start();
  try {
    await until(
      'batches on the namespace’s topic',
      () => (batches.length >= 2 ? true : undefined),
      30_000,
      100,
    );
  } finally {
    await consumer.stop();
  }
  expect(batches[0]).toMatchObject({ node: 'node3', seq: 1, intervalMs: 500, source: 'cgroup-v1' });

  proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise((r) => (timer = setTimeout(() => r('still running'), 20_000))),
  ]);
  clearTimeout(timer);
  expect(code).toBe(0);
  expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
}, 120_000);
