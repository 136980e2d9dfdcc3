/** The portal's own process (one Deployment in the chart): serves the built web UI. */
// The kit's parts by their files, not its index: the index loads everything the services need
// (Prisma, KafkaJS, the OpenTelemetry SDK), and this process uses none of it.
import { ConfigError, loadConfig } from '@testbed/kit/src/config/load-config';
import { createLogger } from '@testbed/kit/src/log/logger';
import { stopOnSignals } from '@testbed/kit/src/host/stop-on-signals';
import { standalonePortalSchema, startPortalServer } from './server/standalone';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(standalonePortalSchema);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`portal: cannot start.\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ name: 'portal', level: config.LOG_LEVEL });
  stopOnSignals(await startPortalServer(config, logger), logger);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `portal: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
