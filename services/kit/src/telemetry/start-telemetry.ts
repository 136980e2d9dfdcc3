import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ExportResult } from '@opentelemetry/core';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { w3cPropagator } from './propagation';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /**
   * OTLP/HTTP base URL (`http://collector:4318`); spans go to `<url>/v1/traces`. Default: the
   * environment's OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or OTEL_EXPORTER_OTLP_ENDPOINT.
   * With neither, spans are not exported, but trace ids are still made and propagated.
   */
  otlpEndpoint?: string;
  /** Another exporter (tests: InMemorySpanExporter), fed span by span as spans end. */
  exporter?: SpanExporter;
  /** Feed `exporter` in batches, as the OTLP exporter is (a benchmark of what export costs). */
  batchExporter?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  /** Exports what is buffered. */
  forceFlush(): Promise<void>;
  /** Flushes, stops exporting and unregisters the globals; the last step of a graceful shutdown. */
  shutdown(): Promise<void>;
}

let active: Telemetry | undefined;

function otlpTracesUrl(opts: TelemetryOptions): string | undefined {
  const env = opts.env ?? process.env;
  const base =
    opts.otlpEndpoint ??
    (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? undefined : env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined;
}

/**
 * The OTLP/HTTP exporter, loaded when the first batch is exported rather than at start: the
 * package and what it pulls in (the OTLP transformer, the metrics and logs SDKs) are about 110
 * files that every service otherwise compiles before it can listen, for spans that leave five
 * seconds later at the earliest.
 */
export function lazyOtlpExporter(url: string): SpanExporter {
  let inner: SpanExporter | undefined;
  const exporter = (): SpanExporter => {
    if (!inner) {
      const { OTLPTraceExporter } =
        require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
      inner = new OTLPTraceExporter({ url });
    }
    return inner;
  };
  return {
    export: (spans: ReadableSpan[], done: (result: ExportResult) => void) => exporter().export(spans, done),
    shutdown: () => inner?.shutdown() ?? Promise.resolve(),
    forceFlush: () => inner?.forceFlush?.() ?? Promise.resolve(),
  };
}

/**
 * The one place that sets up the OpenTelemetry SDK; the host calls it before importing anything
 * else, and all other code uses only `@opentelemetry/api`. A tracer provider is always
 * registered (without one the API makes no trace ids, so nothing would correlate), with W3C
 * trace context and an AsyncLocalStorage context manager (the active span follows awaits).
 *
 * NodeTracerProvider rather than NodeSDK: NodeSDK reads OTEL_TRACES_EXPORTER, whose default
 * `otlp` exports to localhost:4318 even when no collector was configured.
 */
export function startTelemetry(opts: TelemetryOptions): Telemetry {
  if (active) throw new Error('telemetry already started in this process: shut it down first');
  const processors: SpanProcessor[] = [];
  const url = otlpTracesUrl(opts);
  if (url) processors.push(new BatchSpanProcessor(lazyOtlpExporter(url)));
  if (opts.exporter)
    processors.push(
      opts.batchExporter ? new BatchSpanProcessor(opts.exporter) : new SimpleSpanProcessor(opts.exporter),
    );

  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: opts.serviceName,
        ...(opts.serviceVersion ? { [ATTR_SERVICE_VERSION]: opts.serviceVersion } : {}),
      }),
    );
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  // The API refuses to replace a registered global: drop the W3C fallback the bus may have
  // installed. The tracer provider is not reset: `trace.disable()` would orphan the proxy tracers
  // modules took at import time (the kit is imported before this runs).
  propagation.disable();
  context.disable();
  provider.register({ contextManager: new AsyncLocalStorageContextManager(), propagator: w3cPropagator() });

  const telemetry: Telemetry = {
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      if (active !== telemetry) return;
      active = undefined;
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
  active = telemetry;
  return telemetry;
}
