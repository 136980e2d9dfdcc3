export * from './service-module';
export { runHost, stopOnSignals, type HostOptions, type RunningHost } from './run-host';
export { runStandalone, authenticatorFor, standaloneConfigShape, type StandaloneConfig } from './standalone';
