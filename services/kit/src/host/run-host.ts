import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger';
import type { Authenticator } from '../auth/principal';
import type { Database } from '../db';
import type { Bus } from '../bus';
import { answerClientError } from '../http/client-error';
import { createHttpApp } from '../http/app';
import { Readiness } from '../http/readiness';
import { alwaysLeader, type LeaderElector } from '../leader/leader';
import { startPeriodicTasks, type PeriodicTask } from '../leader/periodic';
import { handleUpgrades } from '../http/upgrade';
import { defaultBusRetention, pruneBusTables, type BusRetention } from '../bus/prune';
import type { ServiceModule } from './service-module';
import { insertAuditEntry } from '../audit/audit-store';
import { auditPruneTask } from '../audit/prune';
import { createRateLimiter, rateLimitPruneTask, type RateLimits } from '../http/rate-limit';
import type { RouteSpec } from '../http/route';
import { systemClock, type Clock } from '../time/clock';

/** What a host runs once its dependencies are open. */
export interface HostParts {
  db: Database;
  bus: Bus;
  modules: ServiceModule[];
}

export interface HostOptions {
  name: string;
  port: number;
  /** Interface to listen on; defaults to all. */
  listenHost?: string;
  logger: Logger;
  metrics: Registry;
  authenticator: Authenticator;
  /**
   * Opens the database (migrating it where the host does) and builds the bus and the modules.
   * It runs after the server listens, so /healthz answers at once and /readyz is 503 meanwhile.
   */
  open(): Promise<HostParts>;
  leader?: LeaderElector;
  shutdownDelayMs?: number;
  extraRouters?: import('express').Router[];
  /** Closed last (e.g. the telemetry SDK). */
  onStopped?: () => Promise<void>;
  /** How long the bus keeps published events and processed marks (the leader prunes the rest). */
  busRetention?: BusRetention;
  /** Per-subject limits of mutating requests, counted in the database; absent: none. */
  rateLimits?: RateLimits;
  /** Days the audit log keeps its entries (the leader prunes older ones); 0 or absent: for good. */
  auditRetentionDays?: number;
  /** The rate limiter's windows follow it; defaults to the system clock. */
  clock?: Clock;
}

export interface RunningHost {
  url: string;
  port: number;
  readiness: Readiness;
  stop(): Promise<void>;
}

/**
 * Composes service modules into one process: one HTTP server for all their routes, their bus
 * subscriptions, their leader-only tasks; and takes them down in the order that loses nothing.
 */
export async function runHost(opts: HostOptions): Promise<RunningHost> {
  const { logger } = opts;
  const leader = opts.leader ?? alwaysLeader();
  const readiness = new Readiness();
  const http_ = createHttpApp({
    name: opts.name,
    logger,
    metrics: opts.metrics,
    readiness,
    authenticator: opts.authenticator,
    extraRouters: opts.extraRouters,
  });
  const server = http.createServer(http_.app);
  server.on('clientError', answerClientError);
  // Idle keep-alive sockets must not hold shutdown open.
  server.keepAliveTimeout = 5000;

  // Listen first: /healthz answers while the database and the broker are still being reached, and
  // /readyz says 503 until they are (a pod is not restarted for a slow broker, only kept out of rotation).
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.listenHost, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // Milliseconds since the process began, at each step of the start (logged once ready).
  const steps: Record<string, number> = { listening: Math.round(performance.now()) };

  let parts: HostParts | undefined;
  let stopTasks: () => Promise<void> = async () => {};
  try {
    readiness.starting('opening the database');
    parts = await opts.open();
    steps.opened = Math.round(performance.now());
    const { db, bus, modules } = parts;
    readiness.add({ name: 'database', check: () => db.ping() });
    readiness.add({
      name: 'bus',
      check: async () => {
        if (!(await bus.isReady())) throw new Error('bus not connected');
      },
    });
    for (const m of modules) readiness.add(...(m.readiness ?? []));
    for (const m of modules) for (const sub of m.subscriptions ?? []) bus.subscribe(sub);
    for (const m of modules) for (const sub of m.recordSubscriptions ?? []) bus.records.subscribe(sub);
    // The broker is reached (producer, topics, consumer connections) while the modules start:
    // nothing is consumed before every module has started.
    const connecting = bus.connect();
    connecting.catch(() => undefined);
    // The database client's engine (Prisma's query compiler and its first connection) is made
    // beside that too, not by the first query, which may come after ready (a leader task's).
    const dbConnecting = db.prisma.$connect();
    dbConnecting.catch(() => undefined);
    for (const m of modules) {
      readiness.starting(`starting ${m.name}`);
      await m.start?.();
    }
    await dbConnecting;
    steps.modulesStarted = Math.round(performance.now());
    readiness.starting('connecting to the bus');
    await connecting;
    readiness.starting('joining the consumer groups');
    await bus.start();
    steps.busStarted = Math.round(performance.now());
    await leader.start();
    const retention = opts.busRetention ?? defaultBusRetention;
    const pruneBus: PeriodicTask = {
      name: 'bus-prune',
      intervalMs: 3_600_000,
      run: async () => {
        const pruned = await pruneBusTables(db, retention, new Date());
        if (pruned.outbox + pruned.processed > 0) logger.info(pruned, 'pruned the bus tables');
      },
    };
    const clock = opts.clock ?? systemClock;
    stopTasks = startPeriodicTasks(
      // Windows are pruned even with the limits off: they may have been on before a restart.
      [
        pruneBus,
        rateLimitPruneTask(db, clock, logger),
        ...(opts.auditRetentionDays ? [auditPruneTask(db, clock, logger, opts.auditRetentionDays)] : []),
        ...modules.flatMap((m) => m.leaderTasks ?? []),
      ],
      leader,
      logger,
    );
    // Each service counts its own requests: one host of several services keeps their limits apart.
    const scopes = new Map<RouteSpec, string>(
      modules.flatMap((m) => (m.routes ?? []).map((r): [RouteSpec, string] => [r, m.name])),
    );
    http_.mountRoutes(
      modules.flatMap((m) => m.routes ?? []),
      opts.rateLimits && {
        limiter: createRateLimiter({ db, limits: opts.rateLimits, clock, logger, metrics: opts.metrics }),
        scopeOf: (route) => scopes.get(route) ?? opts.name,
      },
      {
        sourceOf: (route) => scopes.get(route) ?? opts.name,
        write: (entry) =>
          insertAuditEntry(db.prisma, entry).catch((err: unknown) => {
            logger.error({ err, action: entry.action }, 'writing an audit entry failed');
          }),
      },
    );
    handleUpgrades(
      server,
      modules.flatMap((m) => m.upgrades ?? []),
      opts.authenticator,
      logger,
    );
  } catch (err) {
    server.close();
    await parts?.bus.stop().catch(() => undefined);
    await parts?.db.close().catch(() => undefined);
    throw err;
  }
  const { db, bus, modules } = parts;
  readiness.markReady();
  steps.ready = Math.round(performance.now());
  logger.info({ port, modules: modules.map((m) => m.name), startMs: steps }, `${opts.name} listening`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      readiness.markStopping();
      if (opts.shutdownDelayMs) await new Promise((r) => setTimeout(r, opts.shutdownDelayMs));
      for (const m of modules) m.closeStreams?.();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await stopTasks();
      await leader.stop();
      await bus.stop();
      for (const m of [...modules].reverse()) await m.stop?.();
      await db.close();
      await opts.onStopped?.();
      logger.info(`${opts.name} stopped`);
    })());

  return { url: `http://127.0.0.1:${port}`, port, readiness, stop };
}

export { stopOnSignals } from './stop-on-signals';
