/** Standalone stats: one process (one pod) on Postgres and Kafka. */
import { startTelemetry } from '@testbed/kit';
const telemetry = startTelemetry({ serviceName: 'stats' });

import { runStandalone } from '@testbed/kit';
import { createStatsService, statsConfigShape } from './index';

runStandalone({
  name: 'stats',
  configShape: statsConfigShape,
  factory: createStatsService,
  onStopped: () => telemetry.shutdown(),
}).catch((err: unknown) => {
  process.stderr.write(
    `stats: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
