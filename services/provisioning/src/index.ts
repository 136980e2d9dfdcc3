import { randomUUID } from 'node:crypto';
import { defineService } from '@testbed/kit';
import type { ProvisioningConfig } from './config';
import type { ProvisioningContext } from './context';
import { provisioningMetrics } from './metrics';
import { NodeDockers } from './docker/node-dockers';
import type { DockerClientFactory } from './docker/node-client';
import { provisioningSubscriptions } from './events/handlers';
import { OperationWorkers } from './operations/workers';
import { nodeRoutes } from './http/node-routes';
import { containerRoutes } from './http/container-routes';
import { batchRoutes } from './http/batch-routes';
import { operationRoutes } from './http/operation-routes';
import { auditRoutes } from './http/audit-routes';
import { networkRoutes } from './http/network-routes';
import { imageRoutes } from './http/image-routes';
import { interfaceRoutes } from './http/interface-routes';
import { createWorker } from './use-cases/create-run';
import { interfaceWorker } from './use-cases/interface-worker';
import { limitsWorker } from './use-cases/limits';
import { reservationStopWorker } from './use-cases/reservation-end';
import { imageWorker } from './use-cases/image-operations';
import { batchRemovalWorker } from './use-cases/batches';
import { checkNodesHealth, registerLocalNode, registerNodeFromConfig } from './use-cases/nodes';
import { DockerEventWatchers, reconcile } from './use-cases/drift';

export {
  provisioningConfigShape,
  provisioningConfigSchema,
  defaultProvisioningConfig,
  withEnvNodes,
  type ProvisioningConfig,
} from './config';
export * from './events/contracts';
export { NodeDocker } from './docker/node-docker';
export type { DockerClientFactory } from './docker/node-client';

/** What a host hands provisioning beyond every service's dependencies. */
export interface ProvisioningDeps {
  /** Builds each node's dockerode client; dockerode over the node's endpoint when absent. */
  dockerClientFactory?: DockerClientFactory;
}

/** The provisioning service: nodes, containers, batches, operations, the create saga, drift. */
export const createProvisioningService = defineService<ProvisioningConfig, ProvisioningDeps>(
  'provisioning',
  (deps) => {
    const config = deps.config;
    const metrics = provisioningMetrics(deps.metrics, deps.db);
    const ctx: ProvisioningContext = {
      db: deps.db,
      clock: deps.clock,
      logger: deps.logger,
      source: deps.source,
      config,
      metrics,
      dockers: new NodeDockers(
        config.PROVISIONING_DOCKER_TIMEOUT_MS,
        config.PROVISIONING_TLS_SECRETS_DIR,
        metrics.observeDockerCall,
        deps.dockerClientFactory,
      ),
      workerId: `${deps.source}-${randomUUID()}`,
      kick: (kind, id) => workers.kick(kind, id),
      making: new Set(),
      startedHere: new Set(),
    };
    const workers = new OperationWorkers(ctx)
      .register(createWorker(ctx))
      .register(batchRemovalWorker(ctx))
      .register(interfaceWorker(ctx))
      .register(limitsWorker(ctx))
      .register(reservationStopWorker(ctx))
      .register(imageWorker(ctx));
    const watchers = new DockerEventWatchers(ctx);

    return {
      name: 'provisioning',
      routes: [
        ...nodeRoutes(ctx),
        ...imageRoutes(ctx),
        ...containerRoutes(ctx),
        ...interfaceRoutes(ctx),
        ...batchRoutes(ctx),
        ...networkRoutes(ctx),
        ...operationRoutes(ctx),
        ...auditRoutes(ctx),
      ],
      subscriptions: provisioningSubscriptions(ctx),
      leaderTasks: [
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
            if (r.removedRecords + r.removedOrphans + r.failedOrphans > 0)
              deps.logger.info(r, 'reconciled records with the daemons');
          },
        },
        {
          name: 'provisioning-operations-resume',
          intervalMs: config.PROVISIONING_RESUME_INTERVAL_MS,
          run: () => workers.resume(),
        },
      ],
      start: async () => {
        for (const node of config.PROVISIONING_ENV_NODES) await registerNodeFromConfig(ctx, node);
        if (config.PROVISIONING_LOCAL_NODE) await registerLocalNode(ctx);
        await checkNodesHealth(ctx).catch((err: unknown) =>
          deps.logger.warn({ err }, 'first health check failed'),
        );
      },
      stop: async () => {
        watchers.stop();
        await workers.drain();
      },
    };
  },
);
