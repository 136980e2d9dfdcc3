import fc from 'fast-check';
import { decodeSampleBatch, encodeSampleBatch, WireFormatError } from '../src/wire/codec';
import type { ContainerSample, SampleBatch } from '../src/wire/sample-batch';

const counter = fc.maxSafeNat();
const memory = fc.oneof(
  fc.nat({ max: 1 << 20 }).map((pages) => pages * 4096),
  fc.nat({ max: Math.floor(Number.MAX_SAFE_INTEGER / 4) }),
);
const sample: fc.Arbitrary<ContainerSample> = fc.record({
  ref: fc.stringMatching(/^[0-9a-f]{12}$/),
  offsetMs: fc.nat({ max: 60_000 }),
  generation: fc.nat({ max: 1_000_000 }),
  cpuUsec: counter,
  memoryUsageBytes: memory,
  memoryInactiveFileBytes: memory,
  memoryLimitBytes: fc.option(
    memory.filter((v) => v > 0),
    { nil: null },
  ),
  cpuLimitMillis: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: null }),
  pids: fc.nat({ max: 1 << 22 }),
  interfaces: fc.array(
    fc.record({
      name: fc.constantFrom('eth0', 'eth1', 'net2'),
      rxBytes: counter,
      rxPackets: counter,
      txBytes: counter,
      txPackets: counter,
    }),
    { maxLength: 3 },
  ),
});
const batch: fc.Arbitrary<SampleBatch> = fc.record({
  node: fc.string({ minLength: 1, maxLength: 63 }),
  epoch: counter,
  seq: counter,
  t: counter,
  intervalMs: fc.integer({ min: 1, max: 3_600_000 }),
  cpus: fc.integer({ min: 1, max: 4096 }),
  source: fc.constantFrom('cgroup-v1', 'cgroup-v2', 'docker-stats'),
  samples: fc.array(sample, { maxLength: 40 }),
});

describe('the sample batch wire format', () => {
  it('decodes exactly what was encoded', () => {
    fc.assert(
      fc.property(batch, (b) => expect(decodeSampleBatch(encodeSampleBatch(b))).toEqual(b)),
      {
        numRuns: 300,
      },
    );
  });

  it('refuses any other bytes with a WireFormatError, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const buf = Buffer.from(bytes);
        try {
          decodeSampleBatch(buf);
        } catch (err) {
          expect(err).toBeInstanceOf(WireFormatError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a valid batch cut short or with a flipped byte', () => {
    fc.assert(
      fc.property(batch, fc.nat(), fc.nat(), (b, cut, flip) => {
        const whole = encodeSampleBatch(b);
        const short = whole.subarray(0, cut % whole.length);
        expect(() => decodeSampleBatch(short)).toThrow(WireFormatError);
        const flipped = Buffer.from(whole);
        const at = flip % flipped.length;
        flipped[at] = flipped[at]! ^ 0xff;
        try {
          decodeSampleBatch(flipped);
        } catch (err) {
          expect(err).toBeInstanceOf(WireFormatError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
