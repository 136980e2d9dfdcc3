import type { Bus, Clock, Database, Logger, ServiceModule } from '@testbed/kit';
import type { Registry } from 'prom-client';
import { createIpamService } from '@testbed/ipam';
import { createQuotaService } from '@testbed/quota';
import { createProvisioningService } from '@testbed/provisioning';
import type { EmbeddedConfig } from './config';

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
  ];
}
