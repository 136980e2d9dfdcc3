import { propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';

/** W3C trace context (and baggage): what rides in HTTP and Kafka headers across services. */
export function w3cPropagator(): CompositePropagator {
  return new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });
}

/**
 * Installs the W3C propagator when none is registered (the API's default is a no-op that writes
 * nothing). Leaves a registered one alone, so startTelemetry's choice wins.
 */
export function ensureTraceContextPropagator(): void {
  if (!propagation.fields().includes('traceparent')) propagation.setGlobalPropagator(w3cPropagator());
}
