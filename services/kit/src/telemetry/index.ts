export { startTelemetry, type Telemetry, type TelemetryOptions } from './start-telemetry';
export { traceMixin } from './trace-mixin';
export { ensureTraceContextPropagator, w3cPropagator } from './propagation';
export * from './spans';
