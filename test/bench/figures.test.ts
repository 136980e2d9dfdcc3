/**
 * The benchmark table's ratio and holds column: a paired ratio (the median of rounds' own
 * ratios) is the one checked against the target, not value / baseline, and the table says so.
 */
import { figure, markdownTable, PAIRED_NOTE } from '../../bench/lib/figures';

/** 9.22 s against 8.31 s (a quotient of 1.11), target ≤ 1.10×, with or without a paired ratio. */
const batch = (value: number, pairedRatio?: number) =>
  figure({
    id: 'b.x',
    figure: 'x',
    value,
    unit: 's',
    baseline: { name: 'dockerode', value: 8.31 },
    checkRatio: { atMost: 1.1 },
    ...(pairedRatio !== undefined ? { pairedRatio } : {}),
  });

describe('bench figures', () => {
  it('checks value / baseline when no paired ratio is given', () => {
    const f = batch(9.22);
    expect(f.ratio).toBeCloseTo(9.22 / 8.31, 6);
    expect(f.holds).toBe(false);
    expect(f.paired).toBeUndefined();
    expect(markdownTable([f])).not.toContain(PAIRED_NOTE);
  });

  it('checks the paired ratio in place of value / baseline, and marks it in the table', () => {
    const f = batch(9.22, 1.065);
    expect(f.ratio).toBe(1.065);
    expect(f.paired).toBe(true);
    expect(f.holds).toBe(true);
    const table = markdownTable([f]);
    expect(table).toContain('| 1.07× paired |');
    expect(table).toContain(PAIRED_NOTE);
  });

  it('misses a target the paired ratio misses, whatever the medians say', () => {
    const f = batch(8.5, 1.12);
    expect(f.holds).toBe(false);
    expect(markdownTable([f])).toContain('| **no** |');
  });
});
