import { randomUUID } from 'node:crypto';
import type { ServiceFactory, ServiceModule } from '@testbed/kit';
import type { ProvisioningConfig } from './config';
import { NodeDockers } from './docker/node-dockers';
import { provisioningMetrics } from './metrics';
import { NodeDocker } from './docker/node-docker';
import { provisioningRoutes } from './http/routes';
import { imageRoutes } from './http/image-routes';
import { interfaceRoutes } from './http/interface-routes';
import { provisioningSubscriptions } from './events/handlers';
import { ProvisionRunner } from './use-cases/runner';
import { checkNodesHealth, nodesFromEnv, registerNodeFromConfig } from './use-cases/nodes';
import { DockerEventWatchers, reconcile } from './use-cases/drift';
import { expirePendingSagas } from './use-cases/saga';
import { drainImageOperations, imageOperationsTask } from './use-cases/images';
import { InterfaceRunner, resumeInterfaceOperations } from './use-cases/interfaces';
import { RESERVATION_STOP, RESERVATION_STOP_KINDS, ReservationStops } from './use-cases/reservation-end';
import { CONTAINER_UPDATE, LimitsChanges, resumeLimitsChanges } from './use-cases/limits';
import { pendingOlderThan, SAGA_KINDS, unclaimedRunning } from './store/operation-store';
import { staleBefore } from './use-cases/claims';
import type { ProvisioningContext } from './use-cases/context';

export { provisioningConfigShape, defaultProvisioningConfig, type ProvisioningConfig } from './config';
export * from './events/contracts';
export { NodeDocker } from './docker/node-docker';

/** The provisioning service: nodes, containers, batches, operations, the create saga, drift. */
export const createProvisioningService: ServiceFactory<ProvisioningConfig> = (deps): ServiceModule => {
  const config = deps.config;
  const ctx: ProvisioningContext = {
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    source: deps.source,
    config,
    dockers: new NodeDockers(
      config.PROVISIONING_DOCKER_TIMEOUT_MS,
      config.PROVISIONING_TLS_SECRETS_DIR,
      provisioningMetrics(deps.metrics, deps.db).observeDockerCall,
    ),
    workerId: `${deps.source}-${randomUUID()}`,
    // Called only by bus handlers and tasks, after the workers below exist.
    kick: (kind, id) => workerFor(kind).kick(id),
  };
  const runner = new ProvisionRunner(ctx);
  const interfaces = new InterfaceRunner(ctx);
  const reservationStops = new ReservationStops(ctx);
  const limitsChanges = new LimitsChanges(ctx);
  /** Which worker runs an operation of a kind; an interface kick may name the family only. */
  const workerFor = (kind: string): { kick(id: string): void } =>
    kind.startsWith('interface')
      ? interfaces
      : kind === RESERVATION_STOP
        ? reservationStops
        : kind === CONTAINER_UPDATE
          ? limitsChanges
          : runner;
  const watchers = new DockerEventWatchers(ctx);

  return {
    name: 'provisioning',
    routes: [...provisioningRoutes(ctx), ...imageRoutes(ctx), ...interfaceRoutes(ctx)],
    subscriptions: provisioningSubscriptions(ctx),
    leaderTasks: [
      imageOperationsTask(ctx),
      {
        name: 'provisioning-node-health',
        intervalMs: config.PROVISIONING_HEALTH_INTERVAL_MS,
        run: () => checkNodesHealth(ctx),
      },
      {
        name: 'provisioning-docker-events',
        intervalMs: 1000,
        run: () => watchers.ensure(),
        // Another replica leads now and watches the daemons: close this one's streams.
        whenNotLeader: () => watchers.stop(),
      },
      {
        name: 'provisioning-reconcile',
        intervalMs: config.PROVISIONING_RECONCILE_INTERVAL_MS,
        run: async () => {
          const r = await reconcile(ctx);
          if (r.removedRecords + r.removedOrphans > 0)
            deps.logger.info(r, 'reconciled records with the daemons');
        },
      },
      {
        name: 'provisioning-saga-resume',
        intervalMs: config.PROVISIONING_RESUME_INTERVAL_MS,
        run: async () => {
          const deadline = new Date(ctx.clock.now().getTime() - config.PROVISIONING_SAGA_DEADLINE_MS);
          const { stale, expired } = await ctx.db.prisma.$transaction(async (tx) => ({
            stale: await unclaimedRunning(tx, SAGA_KINDS, staleBefore(ctx)),
            expired: await pendingOlderThan(tx, SAGA_KINDS, deadline),
          }));
          for (const { id, kind } of stale) ctx.kick(kind, id);
          const stops = await ctx.db.prisma.$transaction((tx) =>
            unclaimedRunning(tx, RESERVATION_STOP_KINDS, staleBefore(ctx)),
          );
          for (const { id } of stops) ctx.kick(RESERVATION_STOP, id);
          await expirePendingSagas(
            ctx,
            expired.map((o) => o.id),
          );
          await resumeInterfaceOperations(ctx);
          await resumeLimitsChanges(ctx);
        },
      },
    ],
    start: async () => {
      if (config.PROVISIONING_NODES_FROM_ENV) {
        for (const r of nodesFromEnv(process.env)) await registerNodeFromConfig(ctx, r);
      }
      if (config.PROVISIONING_LOCAL_NODE) {
        const dockerHost = config.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
        const local = {
          name: 'local',
          dockerHost,
          macvlanParent: config.PROVISIONING_LOCAL_MACVLAN_PARENT || null,
        };
        try {
          await new NodeDocker({ name: 'local', dockerHost }, 3000).health();
          await registerNodeFromConfig(ctx, local);
        } catch (err) {
          deps.logger.warn(
            { err: (err as Error).message, dockerHost },
            'the local Docker daemon does not answer: no node `local`',
          );
        }
      }
      await checkNodesHealth(ctx).catch((err: unknown) =>
        deps.logger.warn({ err }, 'first health check failed'),
      );
    },
    stop: async () => {
      watchers.stop();
      await Promise.all([
        runner.drain(),
        interfaces.drain(),
        reservationStops.drain(),
        limitsChanges.drain(),
        drainImageOperations(ctx),
      ]);
    },
  };
};
