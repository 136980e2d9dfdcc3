/** The portal's own process (one Deployment in the chart): serves the built web UI. */
import { ConfigError, createLogger, loadConfig, stopOnSignals } from '@testbed/kit';
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
