import type { InterfaceCounters } from '../wire/sample-batch';
import { CounterFormatError } from './parse';

const NL = 0x0a;
const SPACE = 0x20;
const COLON = 0x3a;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * `/proc/<pid>/net/dev`: two header lines, then per interface `name: ` and 16 counters (8
 * receive: bytes packets errs drop fifo frame compressed multicast; 8 transmit: bytes packets
 * errs drop fifo colls carrier compressed). The loopback is left out: it is the container
 * talking to itself.
 */
export function parseNetDev(buf: Buffer, what: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  let pos = buf.indexOf(NL);
  pos = pos < 0 ? -1 : buf.indexOf(NL, pos + 1);
  if (pos < 0) throw new CounterFormatError(`${what}: no header`);
  pos++;
  const fields: number[] = new Array<number>(10);
  while (pos < buf.length) {
    while (buf[pos] === SPACE) pos++;
    const colon = buf.indexOf(COLON, pos);
    const eol = buf.indexOf(NL, pos);
    const end = eol < 0 ? buf.length : eol;
    if (colon < 0 || colon > end) break;
    const name = buf.toString('latin1', pos, colon);
    let p = colon + 1;
    for (let f = 0; f < 10; f++) {
      while (buf[p] === SPACE) p++;
      const b = buf[p];
      if (b === undefined || b < ZERO || b > NINE)
        throw new CounterFormatError(`${what}: interface ${name} has too few counters`);
      let v = 0;
      while (buf[p]! >= ZERO && buf[p]! <= NINE) v = v * 10 + (buf[p++]! - ZERO);
      fields[f] = v;
    }
    if (name !== 'lo')
      out.push({
        name,
        rxBytes: fields[0]!,
        rxPackets: fields[1]!,
        txBytes: fields[8]!,
        txPackets: fields[9]!,
      });
    pos = end + 1;
  }
  return out;
}
