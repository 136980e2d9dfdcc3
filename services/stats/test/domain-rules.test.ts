import fc from 'fast-check';
import { isNew } from '../src/domain/batch-order';
import { deriveSample, dockerStatsMemory, type CounterState } from '../src/domain/derive';
import { isExpired, parsePartitionName, partitionOf, partitionsCovering } from '../src/domain/partitions';
import { planHistory, StepError } from '../src/domain/tiers';
import { runsOf } from '../src/store/rollup-store';
import { sampleOf } from './batches';

const H = 3_600_000;
const retention = { rawMs: 48 * H, minuteMs: 90 * 24 * H, hourMs: 730 * 24 * H };
const now = Date.parse('2030-06-01T12:00:00Z');

describe('which tier answers a history query', () => {
  const plan = (fromAgoMs: number, step?: number, spanMs = fromAgoMs) =>
    planHistory({
      fromMs: now - fromAgoMs,
      toMs: now - fromAgoMs + spanMs,
      ...(step ? { stepSeconds: step } : {}),
      nowMs: now,
      retention,
      intervalSeconds: 3,
    });

  it('picks raw samples for an hour, minutes for a day or a week, hours for a quarter', () => {
    expect(plan(H)).toEqual({ tier: 'raw', stepSeconds: 10 });
    expect(plan(24 * H)).toEqual({ tier: 'minute', stepSeconds: 180 });
    expect(plan(7 * 24 * H)).toEqual({ tier: 'minute', stepSeconds: 1800 });
    expect(plan(90 * 24 * H)).toEqual({ tier: 'hour', stepSeconds: 21600 });
  });

  it('honours a step, rounded up to the rows of the tier the retention still has', () => {
    expect(plan(24 * H, 60)).toEqual({ tier: 'minute', stepSeconds: 60 });
    expect(plan(H, 3)).toEqual({ tier: 'raw', stepSeconds: 3 });
    // Raw samples are gone after 48 h: a fine step over last week comes from minutes.
    expect(plan(7 * 24 * H, 10, H)).toEqual({ tier: 'minute', stepSeconds: 60 });
    expect(plan(24 * H, 90)).toEqual({ tier: 'minute', stepSeconds: 120 });
    expect(plan(200 * 24 * H, 60, H)).toEqual({ tier: 'hour', stepSeconds: 3600 });
  });

  it('refuses a step that would give more than 5000 points', () => {
    expect(() => plan(30 * 24 * H, 60)).toThrow(StepError);
  });
});

describe('counters into figures', () => {
  const batch = { epoch: 1, t: 1_000_000, cpus: 4 };
  const state = (over: Partial<CounterState> = {}): CounterState => ({
    epoch: 1,
    generation: 1,
    tMs: 997_000,
    cpuUsec: 1_000_000,
    rxBytes: 0,
    txBytes: 0,
    ...over,
  });

  it('memory is counted as docker stats counts it', () => {
    expect(dockerStatsMemory(100, 30)).toBe(70);
    expect(dockerStatsMemory(100, 130)).toBe(100);
  });

  it('never makes a negative CPU figure, nor one above the node’s CPUs, whatever the counters', () => {
    fc.assert(
      fc.property(
        fc.record({
          prevCpu: fc.maxSafeNat(),
          cpu: fc.maxSafeNat(),
          dt: fc.integer({ min: -10_000, max: 10_000_000 }),
          gen: fc.nat({ max: 3 }),
          epoch: fc.nat({ max: 2 }),
          rx: fc.maxSafeNat(),
          prevRx: fc.maxSafeNat(),
        }),
        ({ prevCpu, cpu, dt, gen, epoch, rx, prevRx }) => {
          const { sample } = deriveSample(
            state({ cpuUsec: prevCpu, tMs: batch.t - dt, epoch, rxBytes: prevRx }),
            batch,
            sampleOf('aaaaaaaaaaaa', {
              cpuUsec: cpu,
              generation: gen,
              interfaces: [{ name: 'eth0', rxBytes: rx, rxPackets: 0, txBytes: 0, txPackets: 0 }],
            }),
          );
          if (sample.cpuPercent !== null) {
            expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
            expect(sample.cpuPercent).toBeLessThanOrEqual(4 * 100 * 1.05 + 1);
          }
          if (sample.rxBytesPerSecond !== null) expect(sample.rxBytesPerSecond).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a new generation of the same agent starts a series even when its counter is higher', () => {
    const { sample } = deriveSample(
      state(),
      batch,
      sampleOf('aaaaaaaaaaaa', { cpuUsec: 2_000_000, generation: 2 }),
    );
    expect(sample.cpuPercent).toBeNull();
    const same = deriveSample(
      state(),
      batch,
      sampleOf('aaaaaaaaaaaa', { cpuUsec: 2_500_000, generation: 1 }),
    );
    expect(same.sample.cpuPercent).toBe(50);
  });
});

describe('batches come once, in order', () => {
  it('a batch at or before the cursor was stored already', () => {
    const c = { node: 'n', epoch: 10, seq: 5 };
    expect(isNew(undefined, 1, 1)).toBe(true);
    expect(isNew(c, 10, 6)).toBe(true);
    expect(isNew(c, 10, 5)).toBe(false);
    expect(isNew(c, 10, 4)).toBe(false);
    expect(isNew(c, 11, 1)).toBe(true);
    expect(isNew(c, 9, 100)).toBe(false);
  });
});

describe('partitions', () => {
  it('spans are aligned, named by their first day, and parsed back', () => {
    const p = partitionOf('raw', Date.parse('2030-06-01T12:34:56Z'));
    expect(p).toMatchObject({ name: 'sample_raw_p20300601', fromMs: Date.parse('2030-06-01T00:00:00Z') });
    expect(parsePartitionName('raw', p.name)).toEqual(p);
    expect(parsePartitionName('raw', 'sample_raw_p20300631')).toBeUndefined();
    expect(parsePartitionName('minute', p.name)).toBeUndefined();
    const weeks = partitionsCovering('minute', now - 30 * 24 * H, now);
    expect(weeks.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < weeks.length; i++) expect(weeks[i]!.fromMs).toBe(weeks[i - 1]!.toMs);
  });

  it('a partition goes once all of it is past retention', () => {
    const day = partitionOf('raw', Date.parse('2030-06-01T00:00:00Z'));
    expect(isExpired(day, Date.parse('2030-06-04T00:00:00Z'), 48 * H)).toBe(true);
    expect(isExpired(day, Date.parse('2030-06-03T23:59:59Z'), 48 * H)).toBe(false);
  });

  it('roll-up buckets are remade in runs of adjacent ones', () => {
    expect(runsOf([120_000, 0, 60_000, 300_000], 60_000)).toEqual([
      { fromMs: 0, toMs: 180_000, buckets: [0, 60_000, 120_000] },
      { fromMs: 300_000, toMs: 360_000, buckets: [300_000] },
    ]);
  });
});
