import { SpanKind, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTelemetry, traceMixin, type Telemetry } from '../../src/telemetry';
import { createLogger } from '../../src/log/logger';
import { createKafkaBus, enqueueEvent, type Bus } from '../../src/bus';
import {
  deleteNamedTopics,
  groupName,
  kafkaBrokers,
  openBusTestDatabase,
  topicName,
  type BusTestDatabase,
} from './bus-rig';
import { waitFor } from '@testbed/test-support/wait';

// The real SDK setup with an in-memory exporter; real Postgres and Kafka from the rig.
const spans = new InMemorySpanExporter();
let telemetry: Telemetry;
let rig: BusTestDatabase;
let bus: Bus | undefined;
const logger = createLogger({ name: 'trace-test', level: 'silent' });

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'bus-trace-test', exporter: spans, env: {} });
  rig = await openBusTestDatabase();
}, 60_000);

afterAll(async () => {
  await bus?.stop();
  await deleteNamedTopics(logger);
  await rig?.close();
  await telemetry?.shutdown();
});

function byName(name: string): ReadableSpan {
  const found = spans.getFinishedSpans().filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one span ${name}, found ${found.length}`);
  return found[0]!;
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

it('one trace runs from the request span through the outbox, Kafka and two consumers', async () => {
  const commands = topicName();
  const replies = topicName();
  const logTraceIds: (string | undefined)[] = [];
  bus = createKafkaBus({
    brokers: kafkaBrokers(),
    clientId: 'trace-test',
    db: rig.db,
    logger,
    relay: { pollMs: 50 },
  });
  bus.subscribe({
    consumer: groupName(),
    topics: [commands],
    handle: async (e, { tx }) => {
      logTraceIds.push(traceMixin().trace_id);
      // A saga step: the handler's event continues the same trace.
      await enqueueEvent(tx, {
        source: 'worker',
        topic: replies,
        key: 'op-1',
        type: 'reply',
        data: { to: e.id },
      });
    },
  });
  let replied = false;
  bus.subscribe({ consumer: groupName(), topics: [replies], handle: async () => void (replied = true) });
  await bus.start();

  // Stands in for the HTTP request's SERVER span.
  const request = trace.getTracer('test').startSpan('POST /v1/containers', { kind: SpanKind.SERVER });
  await context.with(trace.setSpan(context.active(), request), () =>
    rig.db.prisma.$transaction((tx) =>
      enqueueEvent(tx, { source: 'provisioning', topic: commands, key: 'op-1', type: 'cmd', data: {} }),
    ),
  );
  request.end();
  await waitFor('the reply to be handled', () => replied, 30_000);
  await waitFor(
    'the last consumer span',
    () => spans.getFinishedSpans().some((s) => s.name === `${replies} process`),
    5_000,
  );

  const traceId = request.spanContext().traceId;
  const publish1 = byName(`${commands} publish`);
  const process1 = byName(`${commands} process`);
  const publish2 = byName(`${replies} publish`);
  const process2 = byName(`${replies} process`);
  expect(publish1.kind).toBe(SpanKind.PRODUCER);
  expect(process1.kind).toBe(SpanKind.CONSUMER);
  for (const s of [publish1, process1, publish2, process2]) expect(s.spanContext().traceId).toBe(traceId);
  // The parent chain: request ← publish ← process ← publish ← process.
  expect(parentOf(publish1)).toBe(request.spanContext().spanId);
  expect(parentOf(process1)).toBe(publish1.spanContext().spanId);
  expect(parentOf(publish2)).toBe(process1.spanContext().spanId);
  expect(parentOf(process2)).toBe(publish2.spanContext().spanId);
  expect(process1.attributes).toMatchObject({
    'messaging.system': 'kafka',
    'messaging.destination.name': commands,
    'messaging.operation.type': 'process',
  });
  // Log lines written inside the handler carry the same trace id.
  expect(logTraceIds).toEqual([traceId]);
});
