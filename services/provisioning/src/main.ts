/** Standalone provisioning: one process (one pod) on Postgres and Kafka. */
import { startTelemetry } from '@testbed/kit';
const telemetry = startTelemetry({ serviceName: 'provisioning' });

import { runStandalone, type StandaloneConfig } from '@testbed/kit';
import {
  createProvisioningService,
  provisioningConfigShape,
  withEnvNodes,
  type ProvisioningConfig,
} from './index';

runStandalone<typeof provisioningConfigShape, StandaloneConfig & ProvisioningConfig>({
  name: 'provisioning',
  configShape: provisioningConfigShape,
  configTransform: (config, ctx) => withEnvNodes(config, ctx),
  factory: createProvisioningService,
  onStopped: () => telemetry.shutdown(),
}).catch((err: unknown) => {
  process.stderr.write(
    `provisioning: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
