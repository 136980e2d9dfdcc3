/**
 * Unsigned LEB128 varints over JS numbers (exact up to 2^53 - 1): small counters take one or two
 * bytes instead of eight. Arithmetic instead of bit operations, which stop at 32 bits.
 */

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

/** One hex digit (0-9, a-f, A-F) of `s` at `i`; the caller checked that it is one. */
function nibble(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

export class Writer {
  private buf = Buffer.allocUnsafe(1024);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
  }

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new WireFormatError(`not a varint: ${v}`);
    this.room(8);
    // Past 32 bits by arithmetic; the rest (nearly every counter) by shifts, which are cheaper.
    while (v > 0x7fffffff) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  /** Hex digits as bytes, straight into the buffer (a short id per sample: no Buffer per call). */
  hex(s: string): void {
    const n = s.length >> 1;
    this.room(n);
    for (let i = 0; i < n; i++) this.buf[this.pos++] = nibble(s, i * 2) * 16 + nibble(s, i * 2 + 1);
  }

  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.varint(b.length);
    this.bytes(b);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new WireFormatError('truncated');
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) throw new WireFormatError('varint out of range');
        return v;
      }
      scale *= 0x80;
    }
    throw new WireFormatError('varint longer than 8 bytes');
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new WireFormatError('truncated');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  str(maxLength: number): string {
    const n = this.varint();
    if (n > maxLength) throw new WireFormatError(`string of ${n} bytes (at most ${maxLength})`);
    return this.bytes(n).toString('utf8');
  }

  /** A count of items that each take at least `minBytes`: bounds allocations by what is left. */
  count(minBytes: number): number {
    const n = this.varint();
    if (n * minBytes > this.buf.length - this.pos) throw new WireFormatError(`count ${n} past the end`);
    return n;
  }
}
