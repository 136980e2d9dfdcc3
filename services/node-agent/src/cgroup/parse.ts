/**
 * Parsers of cgroup and /proc counter files, straight from the bytes of a read (no string per
 * read). Numbers are parsed digit by digit: exact up to 2^53 - 1, which is as far as the wire
 * format's varints go anyway.
 */

const NL = 0x0a;
const SPACE = 0x20;
const DASH = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** A file whose content is not in the kernel's documented format. */
export class CounterFormatError extends Error {
  override readonly name = 'CounterFormatError';
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= ZERO && b <= NINE;
}

/** The unsigned decimal at `pos` (possibly past 2^53 and then inexact: callers check). */
function digitsAt(buf: Buffer, pos: number, what: string): { value: number; end: number } {
  if (!isDigit(buf[pos])) throw new CounterFormatError(`${what}: no number at byte ${pos}`);
  let value = 0;
  let end = pos;
  while (isDigit(buf[end])) value = value * 10 + (buf[end++]! - ZERO);
  return { value, end };
}

function safe(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new CounterFormatError(`${what}: ${value} is past 2^53`);
  return value;
}

/** A file that holds one number (memory.current, pids.current, memory.usage_in_bytes). */
export function singleUint(buf: Buffer, what: string): number {
  return safe(digitsAt(buf, 0, what).value, what);
}

/**
 * cgroup v1 `cpuacct.usage` is nanoseconds, past 2^53 after 104 days of CPU time: the last three
 * digits are dropped before the number is formed, so microseconds stay exact for 285 years.
 */
export function usecOfNanoseconds(buf: Buffer, what: string): number {
  let end = 0;
  while (isDigit(buf[end])) end++;
  if (end === 0) throw new CounterFormatError(`${what}: no number`);
  if (end <= 3) return 0;
  let usec = 0;
  for (let i = 0; i < end - 3; i++) usec = usec * 10 + (buf[i]! - ZERO);
  return safe(usec, what);
}

/** `key value` lines (memory.stat, cpu.stat): the value of the line that starts with `key`. */
export function keyedUint(buf: Buffer, key: Buffer, what: string): number {
  // `key` ends with a space, so inactive_file never matches inactive_file_something.
  for (let at = buf.indexOf(key); at >= 0; at = buf.indexOf(key, at + 1)) {
    if (at === 0 || buf[at - 1] === NL) return safe(digitsAt(buf, at + key.length, what).value, what);
  }
  throw new CounterFormatError(`${what}: no '${key.toString('latin1').trim()}' line`);
}

/** A key as keyedUint wants it: the name and the space after it, as bytes made once. */
export function statKey(name: string): Buffer {
  return Buffer.from(`${name} `, 'latin1');
}

/**
 * A memory limit: v2 `memory.max` says `max`; v1 `memory.limit_in_bytes` says a page-aligned
 * 2^63 - 4096 (9223372036854771712) or similar. Anything past 2^53 bytes (8 PiB) is no limit.
 */
export function limitBytes(buf: Buffer, what: string): number | null {
  if (buf[0] === 0x6d /* m */ && buf[1] === 0x61 && buf[2] === 0x78) return null;
  const { value } = digitsAt(buf, 0, what);
  return Number.isSafeInteger(value) ? value : null;
}

/** CPU time allowed per period, as thousandths of a CPU (at least 1 for any quota). */
export function millicores(quotaUsec: number | null, periodUsec: number): number | null {
  if (quotaUsec === null) return null;
  if (periodUsec <= 0 || quotaUsec <= 0) return null;
  return Math.max(1, Math.round((quotaUsec * 1000) / periodUsec));
}

/** cgroup v2 `cpu.max`: `max 100000` (no limit) or `50000 100000` (half a CPU), in millicores. */
export function cpuMaxMillis(buf: Buffer, what: string): number | null {
  if (buf[0] === 0x6d /* m */) return null;
  const quota = digitsAt(buf, 0, what);
  if (buf[quota.end] !== SPACE) throw new CounterFormatError(`${what}: no period after the quota`);
  const period = digitsAt(buf, quota.end + 1, what);
  return millicores(quota.value, period.value);
}

/** cgroup v1 `cpu.cfs_quota_us`: microseconds per period, or null for -1 (no limit). */
export function cfsQuotaUsec(buf: Buffer, what: string): number | null {
  if (buf[0] === DASH) return null;
  return singleUint(buf, what);
}
