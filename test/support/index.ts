/**
 * What tests across the services share (`@testbed/test-support`): waiting, the rig's environment,
 * hosts and processes of services, the manual clock. Per-service fixtures are imported by their
 * path (`@testbed/test-support/fixtures/provisioning`), so a test loads only the services it runs.
 */
export { eventually, waitFor } from './wait';
export { ManualClock } from './clock';
export {
  freshPostgresDatabase,
  loadRigEnv,
  nodeDocker,
  nodeEndpoint,
  randomSuffix,
  repoRoot,
  required,
  rigEnv,
  rigNodes,
  tlsFiles,
  RIG_ENV_FILE,
  type RigEnv,
  type TlsFiles,
} from './rig';
export { startTestHost, type TestHost, type TestHostDeps } from './test-host';
export {
  freePort,
  startServiceProcess,
  type ServiceProcess,
  type ServiceProcessOptions,
} from './service-process';
