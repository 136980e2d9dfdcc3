/**
 * The standalone node agent: one small process per testbed node (systemd unit or DaemonSet
 * pod). Imports exact kit files, never the kit's index: that one pulls Prisma, PGlite, the
 * OpenTelemetry SDK and Express, and the agent must stay within 64 MB.
 */
import { collectDefaultMetrics } from 'prom-client';
import { createKafkaRecordProducer } from '@testbed/kit/src/bus/kafka/kafka-records';
import { ConfigError } from '@testbed/kit/src/config/load-config';
import { createLogger } from '@testbed/kit/src/log/logger';
import { createNodeAgent } from './agent';
import { loadNodeAgentConfig, type NodeAgentConfig } from './config';
import { dockerFromHost } from './docker/docker-client';
import { startAgentHttp } from './http';
import { connectingSink } from './kafka-sink';
import { createAgentMetrics } from './metrics';
import { settleWithin } from './settle-within';

function configOrExit(): NodeAgentConfig {
  try {
    return loadNodeAgentConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`node-agent: ${err.message}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const node = config.NODE_AGENT_NODE;
  const logger = createLogger({ name: 'node-agent', level: config.LOG_LEVEL });
  const metrics = createAgentMetrics();
  // prom-client samples the event loop delay every 10 ms by default: a wake-up a hundred times
  // a second, measured here at half the agent's CPU. Once a second is enough for an agent.
  collectDefaultMetrics({ register: metrics.registry, eventLoopMonitoringPrecision: 1000 });
  const producer = createKafkaRecordProducer({
    brokers: config.KAFKA_BROKERS,
    clientId: `node-agent-${node}`,
    logger,
    namespace: config.KAFKA_NAMESPACE,
  });
  const agent = createNodeAgent({
    node,
    sink: connectingSink(producer),
    sinkConnected: () => producer.isConnected(),
    docker: dockerFromHost(config.DOCKER_HOST, config.DOCKER_CERT_PATH),
    logger,
    intervalMs: config.NODE_AGENT_INTERVAL_MS,
    bufferBatches: config.NODE_AGENT_BUFFER_BATCHES,
    heartbeatEvery: config.NODE_AGENT_HEARTBEAT_EVERY,
    cgroupRoot: config.NODE_AGENT_CGROUP_ROOT,
    procRoot: config.NODE_AGENT_PROC_ROOT,
    cgroupParent: config.NODE_AGENT_CGROUP_PARENT,
    metrics,
  });
  const server = await startAgentHttp({
    host: config.NODE_AGENT_LISTEN_HOST,
    port: config.NODE_AGENT_PORT,
    status: () => agent.status(),
    registry: metrics.registry,
  });
  await agent.start();
  logger.info({ url: server.url }, 'serving /healthz, /readyz and /metrics');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new samples; sending what is buffered');
    // Whatever hangs, the process ends: systemd and the kubelet would kill it a little later anyway.
    setTimeout(() => process.exit(1), config.NODE_AGENT_FLUSH_TIMEOUT_MS + 10_000).unref();
    await agent.stop({ flushTimeoutMs: config.NODE_AGENT_FLUSH_TIMEOUT_MS });
    await settleWithin(producer.disconnect(), 5_000);
    await server.close();
    logger.info('stopped');
    logger.flush();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `node-agent: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
