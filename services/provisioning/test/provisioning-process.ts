import { startServiceProcess, type ServiceProcess } from '../../../test/support/service-process';

export { freePort } from '../../../test/support/service-process';

/** A provisioning service running as its own process (services/provisioning/src/main.ts through tsx). */
export type ProvisioningProcess = ServiceProcess;

/** Starts the standalone provisioning process and waits until it is ready (bounded). */
export function startProvisioningProcess(
  env: Record<string, string>,
  logFile: string,
  readyWithinMs = 90_000,
): Promise<ProvisioningProcess> {
  return startServiceProcess('provisioning', env, logFile, { readyWithinMs });
}
