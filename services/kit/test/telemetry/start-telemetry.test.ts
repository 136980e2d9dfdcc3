import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { context, isSpanContextValid, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { startTelemetry, traceMixin, type Telemetry } from '../../src/telemetry';

let telemetry: Telemetry | undefined;

afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

/** An OTLP/HTTP endpoint on loopback that keeps the trace exports it receives. */
async function otlpSink(): Promise<{
  url: string;
  posts: { path: string; body: string }[];
  close(): Promise<void>;
}> {
  const posts: { path: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('latin1') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, posts, close: () => new Promise((r) => server.close(() => r())) };
}

/** The fixture in its own Node process (bounded: it ends after one span, or is killed at 30 s). */
async function exportOneSpan(env: Record<string, string>): Promise<void> {
  const {
    NODE_OPTIONS: _jest,
    OTEL_EXPORTER_OTLP_ENDPOINT: _a,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: _b,
    ...base
  } = process.env;
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'fixtures', 'export-one-span.ts')],
      { env: { ...base, ...env }, timeout: 30_000 },
      (err, _stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()),
    );
    child.stdin?.end();
  });
}

describe('startTelemetry', () => {
  it('makes real, propagated trace ids even with no exporter configured', async () => {
    telemetry = startTelemetry({ serviceName: 'telemetry-test', env: {} });
    const span = trace.getTracer('t').startSpan('work');
    expect(isSpanContextValid(span.spanContext())).toBe(true);
    const carrier: Record<string, string> = {};
    await context.with(trace.setSpan(context.active(), span), async () => {
      await new Promise((r) => setTimeout(r, 5));
      // The active span survives awaits (AsyncLocalStorage context manager).
      expect(trace.getActiveSpan()?.spanContext().spanId).toBe(span.spanContext().spanId);
      propagation.inject(context.active(), carrier);
    });
    span.end();
    expect(carrier.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });

  it('feeds a given exporter, with the service name on the resource', async () => {
    const spans = new InMemorySpanExporter();
    telemetry = startTelemetry({
      serviceName: 'telemetry-test',
      serviceVersion: '1.2.3',
      exporter: spans,
      env: {},
    });
    trace.getTracer('t').startSpan('exported').end();
    const [s] = spans.getFinishedSpans();
    expect(s?.name).toBe('exported');
    expect(s?.resource.attributes).toMatchObject({
      'service.name': 'telemetry-test',
      'service.version': '1.2.3',
    });
  });

  it('exports over OTLP/HTTP to the configured endpoint, and to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const sink = await otlpSink();
    try {
      await exportOneSpan({ TEST_OTLP_OPTION: sink.url, TEST_SPAN_NAME: 'via-option' });
      await exportOneSpan({ OTEL_EXPORTER_OTLP_ENDPOINT: `${sink.url}/`, TEST_SPAN_NAME: 'via-env' });
      expect(sink.posts.map((p) => p.path)).toEqual(['/v1/traces', '/v1/traces']);
      // OTLP protobuf carries the span names as plain strings.
      expect(sink.posts[0]!.body).toContain('via-option');
      expect(sink.posts[1]!.body).toContain('via-env');
    } finally {
      await sink.close();
    }
  });

  it('refuses a second start until the first is shut down', async () => {
    telemetry = startTelemetry({ serviceName: 'a', env: {} });
    expect(() => startTelemetry({ serviceName: 'b', env: {} })).toThrow(/already started/);
    await telemetry.shutdown();
    telemetry = startTelemetry({ serviceName: 'b', env: {} });
  });
});

describe('traceMixin', () => {
  it('puts the active trace and span ids on log lines, and nothing outside a span', () => {
    telemetry = startTelemetry({ serviceName: 'telemetry-test', env: {} });
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ mixin: traceMixin }, sink);
    log.info('outside');
    const span = trace.getTracer('t').startSpan('inside');
    context.with(trace.setSpan(context.active(), span), () => log.info('inside'));
    span.end();
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[1]).toMatchObject({
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
    });
  });
});
