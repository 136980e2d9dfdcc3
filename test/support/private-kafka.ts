/**
 * A Kafka broker of one test's own: a second single-node KRaft broker (broker and controller)
 * on free loopback ports with a temporary data folder, from the jars the rig already resolved
 * (deploy/local/.cache/kafka-<version>/libs) and the JVM flags of deploy/local/lib/kafka.sh. A
 * test can stop it and start it again on the same data (a broker outage) without touching the
 * rig's shared broker. Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');
const KAFKA_VERSION = '3.9.1';
const libs = path.join(repoRoot, 'deploy', 'local', '.cache', `kafka-${KAFKA_VERSION}`, 'libs');

export interface PrivateKafka {
  /** `127.0.0.1:<port>`, for KAFKA_BROKERS and the kit's clients. */
  brokers: string[];
  port: number;
  /** Whether the broker process runs now. */
  running(): boolean;
  /** Starts it again on the same data and ports; resolves once it takes connections. */
  start(): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL after the grace period); the data stays. */
  stop(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function tail(file: string, bytes = 4000): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

/** The JVM command line of deploy/local/lib/kafka.sh (heap from KAFKA_HEAP, G1, exit on OOM). */
function javaArgs(dir: string): string[] {
  const heap = (process.env.KAFKA_HEAP ?? '-Xms128m -Xmx512m').split(/\s+/).filter(Boolean);
  return [
    ...heap,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`,
    '-cp',
    `${libs}/*`,
  ];
}

export async function startPrivateKafka(
  opts: { startTimeoutMs?: number; stopTimeoutMs?: number } = {},
): Promise<PrivateKafka> {
  if (!fs.existsSync(path.join(libs, `kafka_2.13-${KAFKA_VERSION}.jar`)))
    throw new Error(`no Kafka jars in ${libs}: run \`npm run stack:up\` first (it resolves them)`);
  const startTimeoutMs = opts.startTimeoutMs ?? 90_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'private-kafka-'));
  const port = await freePort();
  const controllerPort = await freePort();
  const props = path.join(dir, 'server.properties');
  const out = path.join(dir, 'kafka.out');
  fs.writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${path.join(dir, 'data')}`,
      'auto.create.topics.enable=true',
      'num.partitions=1',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO, file',
      'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${path.join(dir, 'server.log')}`,
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      'log4j.logger.org.apache.kafka=INFO',
      'log4j.logger.state.change.logger=WARN',
      '',
    ].join('\n'),
  );
  const tool = (args: string[]) => {
    const r = spawnSync('java', [...javaArgs(dir), 'kafka.tools.StorageTool', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0)
      throw new Error(`StorageTool ${args[0]} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const clusterId = tool(['random-uuid']).trim().split('\n').pop()!;
  tool(['format', '-t', clusterId, '-c', props, '--ignore-formatted']);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (child) return;
    const log = fs.openSync(out, 'a');
    const proc = spawn('java', [...javaArgs(dir), 'kafka.Kafka', props], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => {
      gone = true;
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + startTimeoutMs;
    while (!(await portOpen(port))) {
      if (gone)
        throw new Error(
          `private Kafka exited while starting:\n${tail(out)}\n${tail(path.join(dir, 'server.log'))}`,
        );
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`private Kafka did not listen on ${port} within ${startTimeoutMs} ms:\n${tail(out)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const stop = async () => {
    const proc = child;
    if (!proc) return;
    proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), stopTimeoutMs)));
    const ended = await Promise.race([exited.then(() => true), late]);
    clearTimeout(timer);
    if (!ended) {
      proc.kill('SIGKILL');
      await exited;
    }
    child = undefined;
  };

  await start();
  return {
    brokers: [`127.0.0.1:${port}`],
    port,
    running: () => child !== undefined,
    start,
    stop,
    async destroy() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
