import { actsForOthers, InvalidError, NotFoundError, type Principal } from '@testbed/kit';
import { cpuShareOfLimit, shareOfLimit } from '../domain/derive';
import { bucketStart, planHistory, StepError, type HistoryPlan, type Tier } from '../domain/tiers';
import { mayWatch } from '../live/live-hub';
import {
  containerBuckets,
  nodeKnown,
  platformContainer,
  seriesOfDockerId,
  seriesOfNode,
  totalsBuckets,
} from '../store/history-store';
import { watermark } from '../store/rollup-store';
import type { StatsContext } from './context';

export interface HistoryQuery {
  from?: Date;
  to?: Date;
  step?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOCKER_ID = /^([0-9a-f]{12}|[0-9a-f]{64})$/;
/** The agents' interval when a query names none: buckets finer than it would be mostly empty. */
const DEFAULT_INTERVAL_SECONDS = 3;

function window(ctx: StatsContext, q: HistoryQuery): { fromMs: number; toMs: number; plan: HistoryPlan } {
  const toMs = (q.to ?? ctx.clock.now()).getTime();
  const fromMs = (q.from ?? new Date(toMs - 3_600_000)).getTime();
  if (fromMs >= toMs) throw InvalidError.field('query.from', 'must be before `to`');
  try {
    const plan = planHistory({
      fromMs,
      toMs,
      ...(q.step ? { stepSeconds: q.step } : {}),
      nowMs: ctx.clock.now().getTime(),
      retention: ctx.retention,
      intervalSeconds: DEFAULT_INTERVAL_SECONDS,
    });
    return { fromMs, toMs, plan };
  } catch (err) {
    if (err instanceof StepError) throw InvalidError.field('query.step', err.message);
    throw err;
  }
}

/**
 * Buckets of the plan's tier up to where its roll-ups are made, and the rest from the next finer
 * tier (the last minutes of a day come from raw samples until their minute is rolled up), so a
 * history reaches up to the newest sample.
 */
async function acrossTiers<R>(
  ctx: StatsContext,
  plan: HistoryPlan,
  fromMs: number,
  toMs: number,
  fetch: (tier: Tier, fromMs: number, toMs: number) => Promise<R[]>,
): Promise<R[]> {
  const chain: Tier[] =
    plan.tier === 'raw' ? ['raw'] : plan.tier === 'minute' ? ['minute', 'raw'] : ['hour', 'minute', 'raw'];
  const out: R[] = [];
  let cursor = fromMs;
  for (const [i, tier] of chain.entries()) {
    const last = i === chain.length - 1;
    const done = last || tier === 'raw' ? toMs : ((await watermark(ctx.sql, tier)) ?? toMs);
    const end = last ? toMs : Math.min(toMs, bucketStart(done, plan.stepSeconds));
    if (end > cursor) out.push(...(await fetch(tier, cursor, end)));
    cursor = Math.max(cursor, end);
    if (cursor >= toMs) break;
  }
  return out;
}

interface Target {
  containerId: string;
  node: string;
  name: string;
  series: number[];
}

/** The container the caller asks about, when they may see it; else 404, as if it did not exist. */
async function targetOf(ctx: StatsContext, who: Principal, id: string): Promise<Target> {
  if (UUID.test(id)) {
    const c = await platformContainer(ctx.sql, id.toLowerCase());
    if (!c || !mayWatch(who, c.owner)) throw new NotFoundError('container', id);
    return { containerId: c.id, node: c.node, name: c.name, series: c.series };
  }
  if (DOCKER_ID.test(id) && actsForOthers(who)) {
    const series = await seriesOfDockerId(ctx.sql, id);
    const first = series[0];
    if (!first) throw new NotFoundError('container', id);
    return {
      containerId: first.platformId ?? id,
      node: first.node,
      name: first.name ?? id,
      series: series.map((s) => s.key),
    };
  }
  throw new NotFoundError('container', id);
}

export async function containerHistory(ctx: StatsContext, who: Principal, id: string, q: HistoryQuery) {
  const target = await targetOf(ctx, who, id);
  const { fromMs, toMs, plan } = window(ctx, q);
  const rows = await acrossTiers(ctx, plan, fromMs, toMs, (tier, f, t) =>
    containerBuckets(ctx.sql, tier, target.series, f, t, plan.stepSeconds),
  );
  const lastRow = rows.at(-1);
  return {
    containerId: target.containerId,
    node: target.node,
    name: target.name,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    stepSeconds: plan.stepSeconds,
    tier: plan.tier,
    ...(lastRow?.cpuLimit != null ? { cpuLimitMillis: lastRow.cpuLimit } : {}),
    ...(lastRow?.memLimit != null ? { memoryLimitBytes: lastRow.memLimit } : {}),
    points: rows.map((r) => {
      const cpuShare = cpuShareOfLimit(r.cpu, r.cpuLimit);
      const memShare = shareOfLimit(r.mem, r.memLimit);
      return {
        t: new Date(r.t).toISOString(),
        cpuPercent: r.cpu,
        cpuPercentMax: r.cpuMax,
        memoryBytes: Math.round(r.mem),
        memoryBytesMax: r.memMax,
        ...(cpuShare !== undefined ? { cpuPercentOfLimit: cpuShare } : {}),
        ...(memShare !== undefined ? { memoryPercentOfLimit: memShare } : {}),
        rxBytes: r.rxBytes,
        txBytes: r.txBytes,
        rxBytesPerSecond: r.rxRate,
        txBytesPerSecond: r.txRate,
        pids: r.pids,
      };
    }),
  };
}

export async function nodeTotals(ctx: StatsContext, who: Principal, node: string, q: HistoryQuery) {
  if (!(await nodeKnown(ctx.sql, node))) throw new NotFoundError('node', node);
  const { fromMs, toMs, plan } = window(ctx, q);
  const series = await seriesOfNode(ctx.sql, node, actsForOthers(who) ? undefined : who.subject);
  const rows = await acrossTiers(ctx, plan, fromMs, toMs, (tier, f, t) =>
    totalsBuckets(ctx.sql, tier, series, f, t, plan.stepSeconds),
  );
  return {
    node,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    stepSeconds: plan.stepSeconds,
    tier: plan.tier,
    points: rows.map((r) => ({
      t: new Date(r.t).toISOString(),
      containers: r.containers,
      cpuPercent: r.cpu,
      memoryBytes: Math.round(r.mem),
      rxBytesPerSecond: r.rxRate,
      txBytesPerSecond: r.txRate,
    })),
  };
}
