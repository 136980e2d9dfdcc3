import type { Logger } from 'pino';
import { backoffDelay, retryPolicy, sleep } from '@testbed/kit/src/bus/retry';
import { mapLimit } from '../concurrency';
import { settleWithin } from '../settle-within';
import { shortId } from '../wire/sample-batch';
import { isNotFound, withDeadline } from './deadline';
import type { NodeDockerApi } from './docker-api';
import { discoveredOf, type DiscoveredContainer } from './discovered-container';
import { eventLineSplitter, type ContainerEvent } from './event-lines';

/** What the agent is told about the node's containers. */
export interface DiscoveryListener {
  /** Runs: first seen, started again (a new pid), or its settings changed. */
  running(c: DiscoveredContainer): void;
  /** Stopped (died, stopped, or gone from the list): sample it no more. */
  stopped(id: string): void;
  /** Removed from the daemon. */
  removed(id: string): void;
}

/** What the daemon says of its machine (Docker info). */
export interface DaemonFacts {
  ncpu: number;
  memTotal: number;
  cgroupDriver: 'cgroupfs' | 'systemd';
  cgroupVersion: string;
  serverVersion: string;
}

export interface ContainerDiscovery {
  /** Resolves once the first list is done, or the first attempt to reach the daemon failed. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Asks Docker again about one container (its counters could not be read). */
  recheck(id: string): void;
  /** Whether the events stream is open now. */
  connected(): boolean;
  daemon(): DaemonFacts | undefined;
}

const RECONNECT = retryPolicy({ initialDelayMs: 500, maxDelayMs: 10_000 });
/** A stream that lived this long was healthy: the next reconnect starts from the shortest delay. */
const HEALTHY_STREAM_MS = 30_000;
const INSPECT_ATTEMPTS = 3;
const INSPECT_PARALLEL = 4;

/**
 * The node's containers from its Docker daemon: list the running ones once, inspect each, then
 * follow `/events` (never the stats endpoint). Every change goes through one queue, in the
 * order Docker told it, so a `die` that comes while the list is in flight still wins. The
 * stream is reopened with bounded backoff when it ends, and the list done again after each
 * reconnect (what happened meanwhile is otherwise unknown). Every call has a deadline.
 */
export function createContainerDiscovery(opts: {
  docker: NodeDockerApi;
  listener: DiscoveryListener;
  logger: Logger;
  /** Deadline of each Docker call (default 5 s). */
  timeoutMs?: number;
}): ContainerDiscovery {
  const { docker, listener } = opts;
  const log = opts.logger.child({ component: 'discovery' });
  const ms = opts.timeoutMs ?? 5_000;
  const stopping = new AbortController();
  const known = new Set<string>();
  let queue: Promise<void> = Promise.resolve();
  let streamOpen = false;
  let facts: DaemonFacts | undefined;
  let loop: Promise<void> | undefined;
  let firstDone: (() => void) | undefined;

  /** Runs `job` after every change queued before it; rejects with its failure. */
  const runQueued = (job: () => Promise<void>): Promise<void> => {
    const run = queue.then(job);
    queue = run.catch(() => undefined);
    return run;
  };
  const enqueue = (what: string, job: () => Promise<void>): void => {
    runQueued(job).catch((err: unknown) => {
      if (!stopping.signal.aborted) log.warn({ err }, `${what} failed`);
    });
  };

  const inspect = async (id: string): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const info = await withDeadline(`inspect ${shortId(id)}`, ms, (signal) => docker.inspect(id, signal));
        const c = discoveredOf(info);
        if (c) {
          known.add(id);
          listener.running(c);
        } else if (known.delete(id)) listener.stopped(id);
        return;
      } catch (err) {
        if (isNotFound(err)) {
          known.delete(id);
          listener.removed(id);
          return;
        }
        if (attempt >= INSPECT_ATTEMPTS || stopping.signal.aborted) throw err;
        await sleep(backoffDelay(RECONNECT, attempt), stopping.signal);
      }
    }
  };

  const reconcile = async (): Promise<void> => {
    const info = await withDeadline('info', ms, (signal) => docker.info(signal));
    facts = {
      ncpu: Number(info.NCPU) || 0,
      memTotal: Number(info.MemTotal) || 0,
      cgroupDriver: info.CgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs',
      cgroupVersion: String(info.CgroupVersion ?? '1'),
      serverVersion: String(info.ServerVersion ?? ''),
    };
    const list = await withDeadline('list containers', ms, (signal) => docker.listRunning(signal));
    const running = new Set(list.map((c) => c.Id));
    for (const id of [...known])
      if (!running.has(id)) {
        known.delete(id);
        listener.stopped(id);
      }
    // Every listed one again, not only the new ones: a container restarted while the stream was
    // down has a new pid that only inspect tells.
    await mapLimit([...running], INSPECT_PARALLEL, (id) =>
      inspect(id).catch((err: unknown) => log.warn({ err, container: shortId(id) }, 'inspect failed')),
    );
  };

  const onEvent = (e: ContainerEvent) => {
    switch (e.action) {
      case 'start':
      case 'restart':
      case 'unpause':
      case 'update':
      case 'rename':
        enqueue(`inspect ${shortId(e.id)}`, () => inspect(e.id));
        return;
      case 'die':
      case 'stop':
        // `kill` only sends a signal; the `die` that follows when it ends the container decides.
        enqueue('stop', async () => {
          if (known.delete(e.id)) listener.stopped(e.id);
        });
        return;
      case 'destroy':
        enqueue('remove', async () => {
          known.delete(e.id);
          listener.removed(e.id);
        });
        return;
      default:
        return;
    }
  };

  const follow = async (): Promise<void> => {
    for (let failures = 0; !stopping.signal.aborted;) {
      const streamAbort = new AbortController();
      const stop = () => streamAbort.abort();
      stopping.signal.addEventListener('abort', stop, { once: true });
      const openedAt = Date.now();
      try {
        const stream = await withDeadline('events', ms, (signal) => {
          // Only the connection has the deadline; the open stream lives until it ends or we stop.
          signal.addEventListener('abort', stop, { once: true });
          return docker.events(streamAbort.signal);
        });
        const ended = new Promise<void>((resolve) => {
          stream.once('end', resolve);
          stream.once('close', resolve);
          stream.once('error', (err) => {
            if (!stopping.signal.aborted) log.warn({ err }, 'Docker events stream failed');
            resolve();
          });
        });
        streamOpen = true;
        // Queued before the stream's first event is read, so every event is applied after the
        // list. A list that fails ends this stream: the next one lists again.
        const listed = runQueued(reconcile);
        stream.on('data', eventLineSplitter(onEvent));
        await listed;
        firstDone?.();
        await ended;
        if (!stopping.signal.aborted) log.warn('Docker events stream ended; reconnecting');
      } catch (err) {
        if (!stopping.signal.aborted) log.warn({ err }, 'Docker daemon not reachable');
        firstDone?.();
      } finally {
        streamOpen = false;
        stopping.signal.removeEventListener('abort', stop);
        streamAbort.abort();
      }
      if (stopping.signal.aborted) break;
      failures = Date.now() - openedAt > HEALTHY_STREAM_MS ? 1 : failures + 1;
      await sleep(backoffDelay(RECONNECT, failures), stopping.signal).catch(() => undefined);
    }
  };

  return {
    start() {
      const first = new Promise<void>((resolve) => (firstDone = resolve));
      loop = follow();
      return first.then(() => {
        firstDone = undefined;
      });
    },
    async stop() {
      stopping.abort();
      await loop;
      // The queue's jobs each have a deadline; what is in hand ends within it.
      await settleWithin(queue, ms);
    },
    recheck(id) {
      enqueue(`inspect ${shortId(id)}`, () => inspect(id));
    },
    connected: () => streamOpen,
    daemon: () => facts,
  };
}
