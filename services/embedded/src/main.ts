/**
 * `npm start`: the whole platform in one process. PGlite in the data folder, the in-process bus,
 * the local key for tokens, every service's routes on one port. Nothing else to install.
 */
import { startTelemetry } from '@testbed/kit';
const telemetry = startTelemetry({ serviceName: 'testbed-embedded' });

import { ConfigError, loadConfig, stopOnSignals } from '@testbed/kit';
import { embeddedConfigSchema } from './config';
import { startEmbedded } from './start-embedded';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(embeddedConfigSchema);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`testbed: cannot start.\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const platform = await startEmbedded(config, { onStopped: () => telemetry.shutdown() });
  stopOnSignals(platform.host, platform.logger);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `testbed: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
