/**
 * `npm run bench:bus` (or `npx tsx services/kit/bench/bus-burst.ts`): a burst through the
 * in-process bus on PGlite, the embedded default's bus. 400 events over 10 keys committed at once
 * go to two consumers whose handlers each write a row; the relay's passes hand them over in
 * groups of one transaction each (what the platform runs), against the same passes with every
 * delivery its own transaction (a group of one: what it ran before), in the same run. ROUNDS
 * rounds alternate the two on a fresh in-memory database each; the figures are the medians.
 * Every round checks that each consumer got each event exactly once. Bounded: at most 5 rounds
 * of 1,000 events, each pass loop stops after 60 s.
 */
import { createLogger } from '../src/log/logger';
import { migrateDatabase, openDatabase } from '../src/db';
import { enqueueEvent } from '../src/bus';
import { GROUP_SIZE } from '../src/bus/in-process/grouped-delivery';
import { createLocalPublisher, outboxDeadLetterRoute } from '../src/bus/in-process/local-publisher';
import { busMetrics } from '../src/bus/metrics';
import { relayOutboxBatch } from '../src/bus/relay';
import { retryPolicy } from '../src/bus/retry';
import { SubscriptionSet } from '../src/bus/subscriptions';
import { emitFigures, figure } from '../../../bench/lib/figures';

const EVENTS = Math.min(1_000, Number(process.env.BENCH_BUS_EVENTS ?? 400));
const ROUNDS = Math.max(1, Math.min(5, Number(process.env.BENCH_BUS_ROUNDS ?? 3)));
const CONSUMERS = ['audit', 'projection'];
const logger = createLogger({ name: 'bench-bus', level: 'silent' });

/** Seconds from the burst's commit until every consumer has every event. */
async function round(groupSize: number): Promise<number> {
  const db = await openDatabase({ url: 'pglite://memory' });
  try {
    await migrateDatabase({ database: db });
    await db.prisma
      .$executeRaw`CREATE TABLE public.bench_write (consumer text NOT NULL, event_id text NOT NULL)`;
    const subs = new SubscriptionSet();
    for (const consumer of CONSUMERS)
      subs.add({
        consumer,
        topics: ['bench.events'],
        handle: async (e, { tx }) => {
          await tx.$executeRaw`INSERT INTO public.bench_write (consumer, event_id) VALUES (${consumer}, ${e.id})`;
        },
      });
    const stopping = new AbortController();
    const metrics = busMetrics(undefined, async () => 0);
    const publisher = createLocalPublisher(
      subs,
      () => ({
        db,
        logger,
        metrics,
        retry: retryPolicy(undefined),
        system: 'in-process',
        deadLetter: outboxDeadLetterRoute,
        signal: stopping.signal,
      }),
      groupSize,
    );
    await db.prisma.$transaction(async (tx) => {
      for (let i = 0; i < EVENTS; i++)
        await enqueueEvent(tx, {
          source: 'bench',
          topic: 'bench.events',
          key: `k${i % 10}`,
          type: 'bench',
          data: { i },
        });
    });
    const t0 = performance.now();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const pass = await relayOutboxBatch({ db, publisher, logger }, metrics);
      if (pass.claimed === 0) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    const [row] = await db.prisma.$queryRaw<{ n: bigint; distinct_n: bigint }[]>`
      SELECT count(*) AS n, count(DISTINCT (consumer, event_id)) AS distinct_n FROM public.bench_write`;
    const expected = EVENTS * CONSUMERS.length;
    if (Number(row!.n) !== expected || Number(row!.distinct_n) !== expected)
      throw new Error(
        `group size ${groupSize}: ${row!.n} writes (${row!.distinct_n} distinct), ${expected} expected`,
      );
    return seconds;
  } finally {
    await db.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const grouped: number[] = [];
  const single: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    grouped.push(await round(GROUP_SIZE));
    single.push(await round(1));
    console.log(
      `round ${r}: grouped ${grouped.at(-1)!.toFixed(3)} s, one by one ${single.at(-1)!.toFixed(3)} s`,
    );
  }
  const g = median(grouped);
  const s = median(single);
  const deliveries = EVENTS * CONSUMERS.length;
  emitFigures([
    figure({
      id: 'bus.burst.grouped-vs-single',
      figure: `in-process bus on PGlite: a burst of ${EVENTS} events to ${CONSUMERS.length} consumers, groups of ${GROUP_SIZE} per transaction (median of ${ROUNDS})`,
      value: g,
      unit: 's',
      baseline: { name: 'the same, one transaction per delivery', value: s },
      note: `${Math.round(deliveries / g)} deliveries/s grouped, ${Math.round(deliveries / s)}/s one by one`,
    }),
  ]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
