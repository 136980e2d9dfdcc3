/** Standalone provisioning: one process (one pod) on Postgres and Kafka. */
import { startTelemetry } from '@testbed/kit';
const telemetry = startTelemetry({ serviceName: 'provisioning' });

import { runStandalone } from '@testbed/kit';
import { createProvisioningService, provisioningConfigShape } from './index';

runStandalone({
  name: 'provisioning',
  configShape: provisioningConfigShape,
  factory: createProvisioningService,
  onStopped: () => telemetry.shutdown(),
}).catch((err: unknown) => {
  process.stderr.write(
    `provisioning: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
