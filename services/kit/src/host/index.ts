export { defineService } from './define-service';
export * from './service-module';
export { runHost, stopOnSignals, type HostOptions, type HostParts, type RunningHost } from './run-host';
export { runStandalone, authenticatorFor, standaloneConfigShape, type StandaloneConfig } from './standalone';
export { busRetentionOf, openHostDatabase, rateLimitsOf } from './host-parts';
