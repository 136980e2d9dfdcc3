/** Standalone ipam: one process (one pod) on Postgres and Kafka. */
import { startTelemetry } from '@testbed/kit';
const telemetry = startTelemetry({ serviceName: 'ipam' });

import { runStandalone } from '@testbed/kit';
import { createIpamService, ipamConfigShape } from './index';

runStandalone({
  name: 'ipam',
  configShape: ipamConfigShape,
  factory: createIpamService,
  onStopped: () => telemetry.shutdown(),
}).catch((err: unknown) => {
  process.stderr.write(
    `ipam: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
