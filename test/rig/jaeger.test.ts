/**
 * The rig's trace store: a span sent to Jaeger over OTLP/HTTP (JSON) on 127.0.0.1 can be read
 * back by its trace id from the query API, with its name and its service.
 */
import { randomBytes } from 'node:crypto';
import { eventually, rigEnv } from '@testbed/test-support';

const env = rigEnv('JAEGER_OTLP_ENDPOINT', 'JAEGER_QUERY_URL');
const otlp = env.JAEGER_OTLP_ENDPOINT as string;
const query = env.JAEGER_QUERY_URL as string;

/** What the query API answers for one trace (only the fields this test reads). */
interface JaegerTraceAnswer {
  data?: {
    traceID: string;
    spans: { traceID: string; spanID: string; operationName: string; processID: string }[];
    processes: Record<string, { serviceName: string }>;
  }[];
}

test('listens on 127.0.0.1 only', () => {
  expect(new URL(otlp).hostname).toBe('127.0.0.1');
  expect(new URL(query).hostname).toBe('127.0.0.1');
});

test('stores a span sent over OTLP/HTTP and answers it by trace id', async () => {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const name = `rig-check-${spanId}`;
  const end = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'jaeger-rig-test' } }] },
        scopeSpans: [
          {
            scope: { name: 'test/rig/jaeger.test.ts' },
            spans: [
              {
                traceId,
                spanId,
                name,
                kind: 1, // SPAN_KIND_INTERNAL
                startTimeUnixNano: String(end - 5_000_000n),
                endTimeUnixNano: String(end),
              },
            ],
          },
        ],
      },
    ],
  };
  const sent = await fetch(`${otlp}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  expect(sent.status).toBe(200);

  // The collector batches before it stores (200 ms by default): poll until the trace is there.
  const trace = await eventually(
    async () => {
      const res = await fetch(`${query}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5_000) });
      if (res.status !== 200) return undefined;
      return ((await res.json()) as JaegerTraceAnswer).data?.[0];
    },
    15_000,
    `trace ${traceId} in Jaeger`,
  );
  expect(trace.traceID).toBe(traceId);
  expect(trace.spans).toHaveLength(1);
  const span = trace.spans[0]!;
  expect(span).toMatchObject({ spanID: spanId, operationName: name });
  expect(trace.processes[span.processID]?.serviceName).toBe('jaeger-rig-test');
});
