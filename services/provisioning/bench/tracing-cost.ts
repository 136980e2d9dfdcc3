/**
 * `npm run bench:tracing` (rig up, Jaeger included): what exporting traces costs a batch. One
 * in-process platform (the bench host of bench:provision), telemetry started once with its spans
 * batched to the rig's Jaeger over OTLP/HTTP as in production, the export switched off and on
 * batch by batch (off, on, off, on…) so that the machine's drift falls on both. Each batch is
 * removed again (untimed) so the next reuses its addresses. Addresses 10.64.99.160-209.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { startTelemetry } from '@testbed/kit';
import { rigEnv } from '@testbed/test-support/rig';
import { testPlatform } from '@testbed/test-support/fixtures/provisioning';
import { startBenchHost, timeBatch } from './bench-host';

const COUNT = Number(process.env.BENCH_TRACING_COUNT ?? 10);
const ROUNDS = Number(process.env.BENCH_TRACING_ROUNDS ?? 3);
const PARALLELISM = 4;

/** Spans to Jaeger while on; dropped (as with no endpoint configured) while off. */
class SwitchedExporter implements SpanExporter {
  on = false;
  exported = 0;
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    if (!this.on) return done({ code: 0 });
    this.exported += spans.length;
    this.inner.export(spans, done);
  }
  shutdown = () => this.inner.shutdown();
  forceFlush = () => this.inner.forceFlush?.() ?? Promise.resolve();
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  if (COUNT > 50) throw new Error('BENCH_TRACING_COUNT is at most 50 (the address range of the bench)');
  const env = rigEnv('JAEGER_OTLP_ENDPOINT');
  const exporter = new SwitchedExporter(
    new OTLPTraceExporter({ url: `${env.JAEGER_OTLP_ENDPOINT!.replace(/\/+$/, '')}/v1/traces` }),
  );
  const telemetry = startTelemetry({ serviceName: 'bench-tracing', exporter, batchExporter: true });
  const platform = testPlatform();
  const host = await startBenchHost({
    name: 'bench-tracing',
    platform,
    range: '10.64.99.160-10.64.99.209',
    parallelism: PARALLELISM,
  });
  const times = { off: [] as number[], on: [] as number[] };
  try {
    // One batch first, untimed: caches, connections and the image's layers warm for both.
    const warm = await timeBatch(host, `warm-${platform}`, COUNT, '10.64.99.160');
    await removeBatch(warm.batchId);
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['off', 'on'] as const) {
        exporter.on = mode === 'on';
        const { seconds, batchId } = await timeBatch(
          host,
          `${mode}${round}-${platform}`,
          COUNT,
          '10.64.99.160',
        );
        // The spans of this batch leave before the next starts (on) or are dropped (off).
        await telemetry.forceFlush();
        times[mode].push(seconds);
        console.log(`round ${round + 1}, export ${mode.padEnd(3)}: ${seconds.toFixed(2)} s`);
        exporter.on = false;
        await removeBatch(batchId);
      }
    }
  } finally {
    await host.stop();
    await telemetry.shutdown();
  }
  const off = mean(times.off);
  const on = mean(times.on);
  console.log(
    `${COUNT} containers on node1 per batch, ${ROUNDS} batches each way, parallelism ${PARALLELISM}`,
  );
  console.log(`export off: mean ${off.toFixed(2)} s; export on: mean ${on.toFixed(2)} s`);
  console.log(
    `export on / off = ${(on / off).toFixed(3)} (${(((on - off) / off) * 100).toFixed(1)} %); ` +
      `${exporter.exported} spans exported, ${Math.round(exporter.exported / ROUNDS)} per batch`,
  );

  async function removeBatch(id: string): Promise<void> {
    const res = await host.call('bench', 'user', `/v1/batches/${id}`, {
      method: 'DELETE',
      headers: { prefer: 'wait=120' },
    });
    const op = (await res.json()) as { state: string };
    if (op.state !== 'succeeded') throw new Error(`removing batch ${id} ended ${op.state}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:tracing failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
