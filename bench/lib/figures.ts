/**
 * The one shape every benchmark reports in, so `npm run bench` (bench/run.ts) can gather them
 * into bench/results.json and a markdown table. A benchmark run alone prints its figures; run by
 * the harness (BENCH_FIGURES_OUT set) it also appends them, one JSON line each, to that file.
 */
import fs from 'node:fs';

export interface Figure {
  /** Stable key, `<benchmark>.<figure>` (e.g. `ipam.c64.rate`). */
  id: string;
  /** What was measured, in words (the table's first column). */
  figure: string;
  value: number;
  unit: string;
  /** What it is compared with, measured in the same run. */
  baseline?: { name: string; value: number; unit?: string };
  /** value / baseline.value, when there is a baseline, unless `paired` says otherwise. */
  ratio?: number;
  /** The ratio is the median of rounds' own ratios (`pairedRatio` below), not value / baseline. */
  paired?: boolean;
  /** The target in words (`≤ 1.10×`, `≥ 1,000/s`); absent for a figure reported only. */
  target?: string;
  /** Whether the target holds; absent without a target. */
  holds?: boolean;
  note?: string;
  /** The benchmark that made it (set by the harness). */
  benchmark?: string;
  /** When and on which commit the harness took it (a partial run keeps the other rows' own). */
  ranAt?: string;
  commit?: string;
}

/** A target on the value or on the ratio, checked where the figure is made. */
export type Check = { atMost: number } | { atLeast: number };

function holdsFor(n: number, check: Check): boolean {
  return 'atMost' in check ? n <= check.atMost : n >= check.atLeast;
}

export function figure(
  f: Omit<Figure, 'ratio' | 'holds'> & {
    check?: Check;
    checkRatio?: Check;
    /**
     * For rounds that each time both paths back to back: the median of the rounds' own ratios,
     * which cancels the machine's drift from one round to the next (the ratio of the two medians
     * can pair a slow round of one path with a quick round of the other). Replaces value/baseline.
     */
    pairedRatio?: number;
  },
): Figure {
  const { check, checkRatio, pairedRatio, ...rest } = f;
  const ratio =
    pairedRatio ?? (f.baseline && f.baseline.value !== 0 ? f.value / f.baseline.value : undefined);
  let holds: boolean | undefined;
  if (check) holds = holdsFor(f.value, check);
  if (checkRatio) holds = (holds ?? true) && ratio !== undefined && holdsFor(ratio, checkRatio);
  return {
    ...rest,
    ...(ratio !== undefined ? { ratio } : {}),
    ...(pairedRatio !== undefined ? { paired: true } : {}),
    ...(holds !== undefined ? { holds } : {}),
  };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatValue(value: number, unit: string): string {
  return unit === '×' ? `${fmt(value)}×` : `${fmt(value)} ${unit}`.trim();
}

export const PAIRED_NOTE =
  'A ratio marked paired is the median of the rounds’ own ratios (each round times both paths back to ' +
  'back); its value and baseline are each path’s median, so their quotient can differ from it.';

/** The markdown table: figure, value, baseline, ratio, target, holds. */
export function markdownTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) =>
    [
      f.figure,
      // NaN (null once in results.json): a figure that could not be taken says why, not "null".
      f.value === null || Number.isNaN(f.value)
        ? `not measured${f.note ? `: ${f.note}` : ''}`
        : formatValue(f.value, f.unit),
      f.baseline ? `${f.baseline.name}: ${formatValue(f.baseline.value, f.baseline.unit ?? f.unit)}` : '',
      f.ratio !== undefined ? `${fmt(f.ratio)}×${f.paired ? ' paired' : ''}` : '',
      f.target ?? '',
      f.holds === undefined ? '' : f.holds ? 'yes' : '**no**',
    ].join(' | '),
  );
  return [
    '| figure | value | baseline (same run) | ratio | target | holds |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r} |`),
    ...(figures.some((f) => f.paired) ? ['', PAIRED_NOTE] : []),
  ].join('\n');
}

/** Prints the figures and, under the harness, hands them to it. */
export function emitFigures(figures: readonly Figure[]): void {
  process.stdout.write(`\n${markdownTable(figures)}\n`);
  const out = process.env.BENCH_FIGURES_OUT;
  if (out) fs.appendFileSync(out, figures.map((f) => JSON.stringify(f) + '\n').join(''));
}
