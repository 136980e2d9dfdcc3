import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { RecordSink } from '@testbed/kit/src/bus/records/types';
import type { AgentStatus } from './agent-status';
import { BatchBuffer } from './batch-buffer';
import { detectCgroupLayout, type CgroupRoots } from './cgroup/layout';
import type { CgroupNotFoundError } from './cgroup/open-container';
import { createContainerDiscovery } from './docker/container-discovery';
import { withDeadline } from './docker/deadline';
import { discoveredOf } from './docker/discovered-container';
import { nodeDockerApi, type NodeDockerApi } from './docker/docker-api';
import { createDockerStatsSampler } from './fallback/docker-stats-sampler';
import { heartbeatRecord, HeartbeatSlot } from './heartbeats';
import { createAgentMetrics, type AgentMetrics } from './metrics';
import { createCgroupSampler } from './sampling/cgroup-sampler';
import type { Sampler, SamplerHooks } from './sampling/sampler';
import { TrackedContainers, type Tracked } from './sampling/tracked-containers';
import { startSender, type Sender } from './sender';
import { settleWithin } from './settle-within';
import { startTicker } from './ticker';
import { encodeSampleBatch } from './wire/codec';
import type { NodeHeartbeat } from './wire/heartbeat';
import type { ContainerSample } from './wire/sample-batch';

export interface NodeAgentOptions {
  /** The testbed node's name: the batches' and heartbeats' key. */
  node: string;
  /** Where records go: the Kafka record producer, or the embedded host's in-process streams. */
  sink: RecordSink;
  /** Whether the sink is connected to its broker now (the Kafka producer's state), for readiness. */
  sinkConnected?: () => boolean;
  /** The node's Docker daemon (dockerode on its socket). */
  docker: Docker | NodeDockerApi;
  logger: Logger;
  /** Default 3000. */
  intervalMs?: number;
  /** Batches kept while the broker is away, the oldest dropped beyond (default 1200: an hour at 3 s). */
  bufferBatches?: number;
  /** A heartbeat every this many intervals (default 5). */
  heartbeatEvery?: number;
  /** Every this many heartbeats carry the inventory even when it did not change (default 4). */
  inventoryEvery?: number;
  /** Default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** Default /proc. */
  procRoot?: string;
  /** The daemon's --cgroup-parent, for finding cgroups when /proc/<pid>/cgroup does not show them. */
  cgroupParent?: string;
  /** Deadline of each Docker call (default 5000). */
  dockerTimeoutMs?: number;
  metrics?: AgentMetrics;
  now?: () => number;
}

export interface NodeAgent {
  /** Detects the cgroup layout, lists the containers, then samples every interval. */
  start(): Promise<void>;
  /** Stops sampling, then sends what is buffered for at most `flushTimeoutMs` (default 5000). */
  stop(opts?: { flushTimeoutMs?: number }): Promise<void>;
  status(): AgentStatus;
  readonly metrics: AgentMetrics;
}

function isDockerode(d: Docker | NodeDockerApi): d is Docker {
  return typeof (d as Docker).getContainer === 'function';
}

/**
 * One agent per testbed node. Every interval it reads every running container's counters
 * (synchronously, from files kept open), encodes one compact batch and buffers it; a sender
 * sends the buffer to the sink in order. Docker's events tell which containers run; the
 * docker-stats fallback takes over where the node's cgroups are not readable.
 */
export function createNodeAgent(opts: NodeAgentOptions): NodeAgent {
  const now = opts.now ?? Date.now;
  const intervalMs = opts.intervalMs ?? 3000;
  const heartbeatEvery = opts.heartbeatEvery ?? 5;
  const inventoryEvery = opts.inventoryEvery ?? 4;
  const dockerTimeoutMs = opts.dockerTimeoutMs ?? 5000;
  const roots: CgroupRoots = {
    cgroupRoot: opts.cgroupRoot ?? '/sys/fs/cgroup',
    procRoot: opts.procRoot ?? '/proc',
  };
  const log = opts.logger.child({ component: 'node-agent', node: opts.node });
  const docker = isDockerode(opts.docker) ? nodeDockerApi(opts.docker) : opts.docker;
  const metrics = opts.metrics ?? createAgentMetrics();
  const buffer = new BatchBuffer(opts.bufferBatches ?? 1200);
  const heartbeats = new HeartbeatSlot();
  const tracked = new TrackedContainers();

  let epoch = 0;
  let seq = 0;
  let beats = 0;
  let dropped = 0;
  /** The docker-stats read in flight (the cgroup reads are synchronous). */
  let reading: Promise<void> | undefined;
  let started = false;
  let stopping = false;
  let sourceReason: string | undefined;
  let sampler: Sampler | undefined;
  let sender: Sender | undefined;
  let ticker: { stop(): void } | undefined;
  /** Containers whose cgroup was not found, with whether Docker confirmed they run with that pid. */
  const suspects = new Map<string, { pid: number; confirmed: boolean; said?: boolean }>();

  const discovery = createContainerDiscovery({
    docker,
    logger: opts.logger,
    timeoutMs: dockerTimeoutMs,
    listener: {
      running: (c) => {
        tracked.running(c);
      },
      stopped: (id) => {
        tracked.stopped(id);
        sampler?.forget(id);
        suspects.delete(id);
      },
      removed: (id) => {
        tracked.removed(id);
        sampler?.forget(id);
        suspects.delete(id);
      },
    },
  });

  const hooks: SamplerHooks = {
    renew: (t) => tracked.renew(t),
    recheck: (id) => discovery.recheck(id),
    now,
  };

  const useDockerStats = (reason: string) => {
    if (sampler?.source === 'docker-stats') return;
    sampler?.close();
    sourceReason = reason;
    sampler = createDockerStatsSampler({
      docker,
      timeoutMs: Math.min(intervalMs, dockerTimeoutMs),
      hooks,
      logger: opts.logger,
    });
    // Another source's counters: nothing of theirs makes a delta with the old ones.
    for (const t of tracked.list()) tracked.renew(t);
    metrics.setSource('docker-stats');
    log.warn({ reason }, "the node's cgroups are not readable here: reading Docker's one-shot stats instead");
  };

  /**
   * A running container whose cgroup is nowhere here: either it ended meanwhile (Docker says so,
   * and it is dropped), or its daemon runs elsewhere (a VM): confirmed once by Docker, a second
   * miss with the same pid switches the agent to Docker's stats. Where other containers' cgroups
   * were found, the host does hold the daemon's containers: this one is said once and retried.
   */
  const notFound = (t: Tracked, err: CgroupNotFoundError, othersFound: boolean) => {
    const { id, pid } = t.container;
    const suspect = suspects.get(id);
    if (suspect?.pid === pid) {
      if (!suspect.confirmed) return;
      if (!othersFound) useDockerStats(`${err.message}: the daemon's containers are not on this host`);
      else if (!suspect.said) {
        suspect.said = true;
        log.warn(
          { err, container: t.container.ref },
          'a running container has no cgroup here; retried every interval',
        );
      }
      return;
    }
    const entry: { pid: number; confirmed: boolean; said?: boolean } = { pid, confirmed: false };
    suspects.set(id, entry);
    withDeadline(`inspect ${t.container.ref}`, dockerTimeoutMs, (signal) => docker.inspect(id, signal))
      .then((info) => {
        if (discoveredOf(info)?.pid === pid) entry.confirmed = true;
        else {
          suspects.delete(id);
          discovery.recheck(id);
        }
      })
      .catch(() => {
        suspects.delete(id);
        discovery.recheck(id);
      });
  };

  // The node's CPUs do not change while the agent runs; asked once (a syscall per batch otherwise).
  const hostCpus = os.availableParallelism();
  const cpus = () => (sampler?.source === 'docker-stats' ? discovery.daemon()?.ncpu : undefined) || hostCpus;
  const memoryBytes = () =>
    (sampler?.source === 'docker-stats' ? discovery.daemon()?.memTotal : undefined) || os.totalmem();

  const beat = () => {
    beats++;
    const withInventory = heartbeats.needsInventory(tracked.version) || (beats - 1) % inventoryEvery === 0;
    const t = now();
    const data: NodeHeartbeat = {
      node: opts.node,
      epoch,
      seq,
      t,
      intervalMs,
      cpus: cpus(),
      memoryBytes: memoryBytes(),
      source: sampler!.source,
      ...(sourceReason ? { sourceReason: sourceReason.slice(0, 1000) } : {}),
      containers: tracked.size,
      buffered: buffer.depth,
      dropped,
      ...(withInventory ? { inventory: tracked.inventory() } : {}),
    };
    heartbeats.offer(
      heartbeatRecord(data, randomUUID(), new Date(t)),
      withInventory ? tracked.version : undefined,
    );
  };

  const finish = (k: number, t: number, samples: ContainerSample[], readMs: number) => {
    seq++;
    const value = encodeSampleBatch({
      node: opts.node,
      epoch,
      seq,
      t,
      intervalMs,
      cpus: cpus(),
      source: sampler!.source,
      samples,
    });
    const lost = buffer.push({ seq, value, samples: samples.length });
    dropped += lost;
    metrics.batchesDropped.inc(lost);
    metrics.batchesMade.inc();
    metrics.containers.set(samples.length);
    metrics.bufferDepth.set(buffer.depth);
    metrics.readSeconds.observe(readMs / 1000);
    if (k % heartbeatEvery === 0) beat();
    sender?.wake();
  };

  const tick = (k: number) => {
    if (reading) {
      metrics.intervalsSkipped.inc();
      return;
    }
    const t = now();
    const startedAt = performance.now();
    let read: ContainerSample[] | Promise<ContainerSample[]>;
    try {
      read = sampler!.sample(tracked.list(), t);
    } catch (err) {
      // A bug, not a container's state (those are handled inside): this interval is lost, not the agent.
      log.error({ err }, 'sampling failed');
      return;
    }
    if (!(read instanceof Promise)) {
      finish(k, t, read, performance.now() - startedAt);
      return;
    }
    reading = read
      .then((samples) => {
        if (!stopping) finish(k, t, samples, performance.now() - startedAt);
      })
      .catch((err: unknown) => log.error({ err }, 'sampling failed'))
      .finally(() => (reading = undefined));
  };

  return {
    metrics,
    async start() {
      if (started) return;
      started = true;
      epoch = now();
      const layout = detectCgroupLayout(roots);
      if (layout.version === 'none') useDockerStats(layout.reason);
      else {
        sampler = createCgroupSampler({
          layout,
          roots,
          driver: () => discovery.daemon()?.cgroupDriver ?? 'cgroupfs',
          cgroupParents: opts.cgroupParent ? [opts.cgroupParent] : [],
          hooks: { ...hooks, notFound },
          logger: opts.logger,
        });
        metrics.setSource(sampler.source);
      }
      await discovery.start();
      sender = startSender({
        node: opts.node,
        sink: opts.sink,
        buffer,
        heartbeats,
        metrics,
        logger: opts.logger,
        stallMs: Math.max(5_000, 2 * intervalMs),
      });
      ticker = startTicker({ epoch, intervalMs, now, onTick: tick });
      log.info(
        {
          source: sampler!.source,
          intervalMs,
          containers: tracked.size,
          daemon: discovery.daemon()?.serverVersion,
        },
        'node agent sampling',
      );
    },
    async stop(stopOpts) {
      if (!started || stopping) return;
      stopping = true;
      ticker?.stop();
      await discovery.stop();
      const flushed = sender ? await sender.flush(stopOpts?.flushTimeoutMs ?? 5000) : true;
      if (!flushed) log.warn({ buffered: buffer.depth }, 'stopping with batches the broker did not take');
      await sender?.stop(1000);
      // A docker-stats read in flight ends within its deadline; its result is not used.
      if (reading) await settleWithin(reading, dockerTimeoutMs);
      sampler?.close();
    },
    status(): AgentStatus {
      const seen = sender?.broker() ?? 'unknown';
      const broker = opts.sinkConnected?.() === false && seen !== 'connected' ? 'unreachable' : seen;
      const dockerUp = discovery.connected();
      return {
        node: opts.node,
        epoch,
        seq,
        source: sampler?.source ?? 'cgroup-v1',
        ...(sourceReason ? { sourceReason } : {}),
        containers: tracked.size,
        buffered: buffer.depth,
        dropped,
        docker: dockerUp ? 'connected' : 'unreachable',
        broker,
        ready: started && !stopping && dockerUp && broker === 'connected',
      };
    },
  };
}
