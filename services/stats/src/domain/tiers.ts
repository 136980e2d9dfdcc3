/**
 * The three tiers a series is kept in, and which one answers a history query. Pure rules: the
 * store only runs the query the plan names.
 */
export type Tier = 'raw' | 'minute' | 'hour';

export const TIERS: readonly Tier[] = ['raw', 'minute', 'hour'];

/** Seconds one row of a roll-up tier covers (raw rows are one sample each). */
export const TIER_SECONDS: Record<Exclude<Tier, 'raw'>, number> = { minute: 60, hour: 3600 };

export interface Retention {
  rawMs: number;
  minuteMs: number;
  hourMs: number;
}

/** Steps a chosen step is rounded up to, so buckets fall on round times. */
const NICE_STEPS = [
  1, 2, 3, 5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
  604800,
];

/** A history answer has at most this many points (a finer step is refused with a reason). */
export const MAX_POINTS = 5000;
/** When no step is given, about this many points. */
export const TARGET_POINTS = 500;

export interface HistoryPlan {
  tier: Tier;
  stepSeconds: number;
}

export class StepError extends Error {
  override readonly name = 'StepError';
}

function niceStepAtLeast(seconds: number): number {
  return NICE_STEPS.find((s) => s >= seconds) ?? Math.ceil(seconds / 86400) * 86400;
}

function roundUpTo(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

/**
 * The tier and step of a query over [from, to): the finest tier whose retention still reaches
 * `from` and whose rows are no coarser than the step; a step finer than the tier's rows is raised
 * to them. Without a step, one giving about TARGET_POINTS points.
 */
export function planHistory(opts: {
  fromMs: number;
  toMs: number;
  stepSeconds?: number;
  nowMs: number;
  retention: Retention;
  /** The agents' sampling interval: raw buckets finer than it would be mostly empty. */
  intervalSeconds: number;
}): HistoryPlan {
  const spanSeconds = Math.max(1, (opts.toMs - opts.fromMs) / 1000);
  let step = opts.stepSeconds ?? niceStepAtLeast(Math.max(opts.intervalSeconds, spanSeconds / TARGET_POINTS));
  const age = opts.nowMs - opts.fromMs;
  let tier: Tier;
  if (step < 60 && age <= opts.retention.rawMs) tier = 'raw';
  else if (step < 3600 && age <= opts.retention.minuteMs) tier = 'minute';
  else tier = 'hour';
  if (tier === 'raw') step = Math.max(step, 1);
  else step = roundUpTo(Math.max(step, TIER_SECONDS[tier]), TIER_SECONDS[tier]);
  if (spanSeconds / step > MAX_POINTS) {
    throw new StepError(
      `a step of ${step} s gives ${Math.ceil(spanSeconds / step)} points over this range (at most ${MAX_POINTS})`,
    );
  }
  return { tier, stepSeconds: step };
}

/** The bucket a time falls in, for buckets of `stepSeconds` aligned on 1970-01-01. */
export function bucketStart(tMs: number, stepSeconds: number): number {
  const stepMs = stepSeconds * 1000;
  return Math.floor(tMs / stepMs) * stepMs;
}
