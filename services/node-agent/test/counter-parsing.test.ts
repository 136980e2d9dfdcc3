/** The counter files' formats (kernel documentation), parsed from bytes. */
import fc from 'fast-check';
import { parseNetDev } from '../src/cgroup/net-dev';
import {
  CounterFormatError,
  cfsQuotaUsec,
  cpuMaxMillis,
  keyedUint,
  limitBytes,
  millicores,
  singleUint,
  statKey,
  usecOfNanoseconds,
} from '../src/cgroup/parse';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('counter parsing', () => {
  test('cpuacct.usage nanoseconds to microseconds stays exact past 2^53 ns', () => {
    expect(usecOfNanoseconds(b('1745793709\n'), 'f')).toBe(1745793);
    expect(usecOfNanoseconds(b('999\n'), 'f')).toBe(0);
    // 2^62 - 1 ns (146 years of CPU): as a JS number the digits would be lost; dropped first, they are not.
    expect(usecOfNanoseconds(b('4611686018427387903\n'), 'f')).toBe(4611686018427387);
    // Past 2^53 µs (285 years) the wire's varints end: an error, never a rounded figure.
    expect(() => usecOfNanoseconds(b('18446744073709551615\n'), 'f')).toThrow(CounterFormatError);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 62n }), (ns) => {
        expect(usecOfNanoseconds(b(`${ns}\n`), 'f')).toBe(Number(ns / 1000n));
      }),
    );
  });

  test('memory limits: v1 page counter maximum and v2 "max" are no limit; bytes otherwise', () => {
    expect(limitBytes(b('9223372036854771712\n'), 'f')).toBeNull();
    expect(limitBytes(b('9223372036854775807\n'), 'f')).toBeNull();
    expect(limitBytes(b('max\n'), 'f')).toBeNull();
    expect(limitBytes(b('67108864\n'), 'f')).toBe(67108864);
  });

  test('CPU limits in millicores: v2 cpu.max and v1 cfs quota over period', () => {
    expect(cpuMaxMillis(b('max 100000\n'), 'f')).toBeNull();
    expect(cpuMaxMillis(b('50000 100000\n'), 'f')).toBe(500);
    expect(cpuMaxMillis(b('150000 100000\n'), 'f')).toBe(1500);
    expect(cpuMaxMillis(b('1000 100000\n'), 'f')).toBe(10);
    expect(cfsQuotaUsec(b('-1\n'), 'f')).toBeNull();
    expect(millicores(cfsQuotaUsec(b('25000\n'), 'f'), 50000)).toBe(500);
    expect(millicores(null, 100000)).toBeNull();
    expect(() => cpuMaxMillis(b('50000\n'), 'f')).toThrow(CounterFormatError);
  });

  test('keyed files: the line that starts with the key, not a longer key nor one inside a line', () => {
    const stat = b('total_inactive_file_x 1\ninactive_file 7\ntotal_inactive_file 4096\n');
    expect(keyedUint(stat, statKey('total_inactive_file'), 'f')).toBe(4096);
    expect(keyedUint(stat, statKey('inactive_file'), 'f')).toBe(7);
    expect(() => keyedUint(b('usage 5\n'), statKey('usage_usec'), 'f')).toThrow(CounterFormatError);
  });

  test('a file that is not a number is a format error, never a silent 0', () => {
    expect(() => singleUint(b('\n'), 'pids.current')).toThrow(CounterFormatError);
    expect(() => singleUint(b('99999999999999999999\n'), 'memory.current')).toThrow(/past 2\^53/);
  });

  test('/proc/<pid>/net/dev: every interface but lo, numbers glued to the colon included', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     672       8    0    0    0     0          0         0      672       8    0    0    0     0       0          0
  eth0:12345678901   16    0    0    0     0          0         0      936      12    0    0    0     0       0          0
  eth1:       5       1    0    0    0     0          0         0        7       2    0    0    0     0       0          0
`;
    expect(parseNetDev(b(text), 'net/dev')).toEqual([
      { name: 'eth0', rxBytes: 12345678901, rxPackets: 16, txBytes: 936, txPackets: 12 },
      { name: 'eth1', rxBytes: 5, rxPackets: 1, txBytes: 7, txPackets: 2 },
    ]);
    expect(() => parseNetDev(b('no header'), 'net/dev')).toThrow(CounterFormatError);
  });
});
