/**
 * One trace from the HTTP request through the outbox, the relay's Kafka publish and the Kafka
 * consumer that handles the event the request caused (real broker, real Postgres).
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind, trace } from '@opentelemetry/api';
import { startTelemetry, type CloudEvent, type Telemetry } from '@testbed/kit';
import { createIpamService, defaultIpamConfig, IPAM_EVENTS, ipamEventTypes } from '@testbed/ipam';
import { startTestHost, type TestHost } from '../support/test-host';
import { randomSuffix } from '../support/rig';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let t: TestHost;
const handled = new Map<string, { traceId: string; spanId: string }>();

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'trace-test', exporter });
  t = await startTestHost({
    name: 'trace_e2e',
    database: 'postgres',
    bus: 'kafka',
    modules: (deps) => [
      createIpamService({ ...deps, config: { ...defaultIpamConfig, IPAM_SEED_POOLS: false } }),
      {
        name: 'trace-probe',
        subscriptions: [
          {
            consumer: `trace-probe-${randomSuffix()}`,
            topics: [IPAM_EVENTS],
            handle: async (event: CloudEvent<unknown>) => {
              if (event.type !== ipamEventTypes.allocated) return;
              const ctx = trace.getActiveSpan()?.spanContext();
              if (ctx) handled.set(event.id, { traceId: ctx.traceId, spanId: ctx.spanId });
            },
          },
        ],
      },
    ],
  });
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await telemetry?.shutdown();
});

test('the consumer span of the event an HTTP request caused is in the request’s trace', async () => {
  const pool = `trace-${randomSuffix()}`;
  const created = await t.call('ops', 'operator', '/v1/pools', {
    method: 'POST',
    body: JSON.stringify({
      name: pool,
      cidr: '10.77.0.0/24',
      rangeStart: '10.77.0.10',
      rangeEnd: '10.77.0.20',
      segment: pool,
    }),
  });
  expect(created.status).toBe(201);
  const res = await t.call('alice', 'user', `/v1/pools/${pool}/allocations`, {
    method: 'POST',
    body: JSON.stringify({ owner: 'alice' }),
  });
  expect(res.status).toBe(201);

  const outboxRow = await t.db.prisma.$queryRaw<{ id: string }[]>`
    SELECT id::text FROM bus.outbox WHERE event->>'type' = ${ipamEventTypes.allocated} AND event->>'subject' = ${pool}`;
  const eventId = outboxRow[0]!.id;
  const deadline = Date.now() + 60_000;
  while (!handled.has(eventId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const consumerSide = handled.get(eventId);
  expect(consumerSide).toBeDefined();
  // The handler ran inside its span, which ends once the delivery's transaction has committed.
  const ended = () =>
    exporter.getFinishedSpans().some((s) => s.spanContext().spanId === consumerSide!.spanId);
  while (!ended() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  const spans = exporter.getFinishedSpans();
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const server = spans.find(
    (s) =>
      s.kind === SpanKind.SERVER &&
      s.name === 'POST /v1/pools/:pool/allocations' &&
      s.spanContext().traceId === consumerSide!.traceId,
  );
  expect(server).toBeDefined();

  // Walk up from the consumer span: CONSUMER ← PRODUCER (relay publish) ← … ← the HTTP SERVER span.
  const chain: ReadableSpan[] = [];
  let current = byId.get(consumerSide!.spanId);
  while (current) {
    chain.push(current);
    const parentId = current.parentSpanContext?.spanId;
    current = parentId ? byId.get(parentId) : undefined;
  }
  const kinds = chain.map((s) => `${SpanKind[s.kind]} ${s.name}`);
  expect(kinds[0]).toBe(`CONSUMER ${IPAM_EVENTS} process`);
  expect(kinds).toContain(`PRODUCER ${IPAM_EVENTS} publish`);
  expect(chain[chain.length - 1]).toBe(server);
  // The database calls of the request are in the same trace too.
  expect(
    spans.some((s) => s.spanContext().traceId === server!.spanContext().traceId && s.name.startsWith('db ')),
  ).toBe(true);
}, 120_000);
