import type { Bus, Clock, Database, Logger, ServiceModule } from '@testbed/kit';
import type { Registry } from 'prom-client';
import { createIpamService } from '@testbed/ipam';
import { createQuotaService } from '@testbed/quota';
import { createProvisioningService } from '@testbed/provisioning';
import { createStatsService } from '@testbed/stats';
import type { EmbeddedConfig } from './config';
import { localNodeAgent } from './local-node-agent';
import { localSignIn } from './local-sign-in';

export interface EmbeddedDeps {
  logger: Logger;
  db: Database;
  bus: Bus;
  clock: Clock;
  metrics: Registry;
  config: EmbeddedConfig;
}

/** The services mounted into the embedded default; each issue that adds a service adds it here. */
export function embeddedModules(deps: EmbeddedDeps): ServiceModule[] {
  const common = {
    logger: deps.logger,
    db: deps.db,
    bus: deps.bus,
    clock: deps.clock,
    metrics: deps.metrics,
  };
  return [
    createIpamService({ ...common, config: deps.config, source: 'ipam' }),
    createQuotaService({ ...common, config: deps.config, source: 'quota' }),
    createProvisioningService({ ...common, config: deps.config, source: 'provisioning' }),
    createStatsService({ ...common, config: deps.config, source: 'stats' }),
    ...(deps.config.STATS_LOCAL_AGENT && deps.config.PROVISIONING_LOCAL_NODE
      ? [
          localNodeAgent({
            bus: deps.bus,
            logger: deps.logger,
            dockerHost: deps.config.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
            intervalMs: deps.config.NODE_AGENT_INTERVAL_MS,
            cgroupRoot: deps.config.NODE_AGENT_CGROUP_ROOT,
            procRoot: deps.config.NODE_AGENT_PROC_ROOT,
          }),
        ]
      : []),
    localSignIn(deps.config),
  ];
}
