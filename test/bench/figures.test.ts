/**
 * The benchmark table's ratio and holds column: a paired ratio (the median of rounds' own
 * ratios) is the one checked against the target, not value / baseline, and the table says so.
 */
import { figure, markdownTable, PAIRED_NOTE } from '../../bench/lib/figures';

const baseline = { name: 'dockerode', value: 8.31 };

describe('bench figures', () => {
  it('checks value / baseline when no paired ratio is given', () => {
    const f = figure({
      id: 'b.x',
      figure: 'x',
      value: 9.22,
      unit: 's',
      baseline,
      checkRatio: { atMost: 1.1 },
    });
    expect(f.ratio).toBeCloseTo(9.22 / 8.31, 6);
    expect(f.holds).toBe(false);
    expect(f.paired).toBeUndefined();
    expect(markdownTable([f])).not.toContain(PAIRED_NOTE);
  });

  it('checks the paired ratio in place of value / baseline, and marks it in the table', () => {
    const f = figure({
      id: 'b.x',
      figure: 'x',
      value: 9.22,
      unit: 's',
      baseline,
      checkRatio: { atMost: 1.1 },
      pairedRatio: 1.065,
    });
    expect(f.ratio).toBe(1.065);
    expect(f.paired).toBe(true);
    expect(f.holds).toBe(true);
    const table = markdownTable([f]);
    expect(table).toContain('| 1.07× paired |');
    expect(table).toContain(PAIRED_NOTE);
  });

  it('misses a target the paired ratio misses, whatever the medians say', () => {
    const f = figure({
      id: 'b.x',
      figure: 'x',
      value: 8.5,
      unit: 's',
      baseline,
      checkRatio: { atMost: 1.1 },
      pairedRatio: 1.12,
    });
    expect(f.holds).toBe(false);
    expect(markdownTable([f])).toContain('| **no** |');
  });
});
