/** Standalone quota: one process (one pod) on Postgres and Kafka. */
import { startTelemetry } from '@testbed/kit';
const telemetry = startTelemetry({ serviceName: 'quota' });

import { runStandalone } from '@testbed/kit';
import { createQuotaService, quotaConfigShape } from './index';

runStandalone({
  name: 'quota',
  configShape: quotaConfigShape,
  factory: createQuotaService,
  onStopped: () => telemetry.shutdown(),
}).catch((err: unknown) => {
  process.stderr.write(
    `quota: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
