import zlib from 'node:zlib';
import {
  SAMPLE_SOURCES,
  SHORT_ID,
  type ContainerSample,
  type InterfaceCounters,
  type SampleBatch,
} from './sample-batch';
import { Reader, WireFormatError, Writer } from './varint';

/**
 * The sample batch on the wire: a 4-byte header ("TS", version, compression), then the body,
 * deflated. The body is varints: counters as the kernel keeps them, a container as its 6-byte
 * short id, interface names once per batch. About 20–30 bytes per container before compression,
 * against about 1.8 kB for Docker's stats JSON of one container.
 */
const MAGIC_0 = 0x54; // 'T'
const MAGIC_1 = 0x53; // 'S'
const VERSION = 1;
const DEFLATE = 1;
/** No honest batch comes near this (100k containers); a bigger one is refused before inflating. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const PAGE = 4096;

export { WireFormatError } from './varint';

/** Memory figures are mostly whole pages: pages shifted left one bit, odd when not whole. */
function pageCoded(v: number): number {
  return v % PAGE === 0 ? (v / PAGE) * 2 : v * 2 + 1;
}
function fromPageCoded(v: number): number {
  return v % 2 === 0 ? (v / 2) * PAGE : (v - 1) / 2;
}

export function encodeSampleBatch(batch: SampleBatch): Buffer {
  const w = new Writer();
  w.str(batch.node);
  w.varint(batch.epoch);
  w.varint(batch.seq);
  w.varint(batch.t);
  w.varint(batch.intervalMs);
  w.varint(batch.cpus);
  w.u8(SAMPLE_SOURCES.indexOf(batch.source));
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  for (const s of batch.samples)
    for (const i of s.interfaces)
      if (!nameIndex.has(i.name)) {
        nameIndex.set(i.name, names.length);
        names.push(i.name);
      }
  w.varint(names.length);
  for (const n of names) w.str(n);
  w.varint(batch.samples.length);
  for (const s of batch.samples) {
    if (!SHORT_ID.test(s.ref)) throw new WireFormatError(`container ref '${s.ref}' is not 12 hex digits`);
    w.hex(s.ref);
    w.varint(s.offsetMs);
    w.varint(s.generation);
    w.varint(s.cpuUsec);
    w.varint(pageCoded(s.memoryUsageBytes));
    w.varint(pageCoded(s.memoryInactiveFileBytes));
    w.varint(s.memoryLimitBytes === null ? 0 : pageCoded(s.memoryLimitBytes));
    w.varint(s.cpuLimitMillis === null ? 0 : s.cpuLimitMillis);
    w.varint(s.pids);
    w.varint(s.interfaces.length);
    for (const i of s.interfaces) {
      w.varint(nameIndex.get(i.name)!);
      w.varint(i.rxBytes);
      w.varint(i.rxPackets);
      w.varint(i.txBytes);
      w.varint(i.txPackets);
    }
  }
  const body = zlib.deflateRawSync(w.finish(), { level: 6 });
  const out = Buffer.allocUnsafe(4 + body.length);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = VERSION;
  out[3] = DEFLATE;
  body.copy(out, 4);
  return out;
}

/** Throws WireFormatError for anything that is not a whole batch of this format. */
export function decodeSampleBatch(value: Buffer): SampleBatch {
  if (value.length < 4 || value[0] !== MAGIC_0 || value[1] !== MAGIC_1)
    throw new WireFormatError('not a sample batch');
  if (value[2] !== VERSION) throw new WireFormatError(`sample batch version ${value[2]} is not known`);
  if (value[3] !== DEFLATE) throw new WireFormatError(`compression ${value[3]} is not known`);
  let body: Buffer;
  try {
    body = zlib.inflateRawSync(value.subarray(4), { maxOutputLength: MAX_BODY_BYTES });
  } catch (err) {
    throw new WireFormatError(`body does not inflate: ${(err as Error).message}`);
  }
  const r = new Reader(body);
  const node = r.str(253);
  const epoch = r.varint();
  const seq = r.varint();
  const t = r.varint();
  const intervalMs = r.varint();
  const cpus = r.varint();
  const source = SAMPLE_SOURCES[r.u8()];
  if (!source) throw new WireFormatError('unknown sample source');
  const names: string[] = [];
  for (let n = r.count(1); n > 0; n--) names.push(r.str(64));
  const samples: ContainerSample[] = [];
  for (let n = r.count(15); n > 0; n--) {
    const ref = r.bytes(6).toString('hex');
    const offsetMs = r.varint();
    const generation = r.varint();
    const cpuUsec = r.varint();
    const memoryUsageBytes = fromPageCoded(r.varint());
    const memoryInactiveFileBytes = fromPageCoded(r.varint());
    const limit = r.varint();
    const cpuLimit = r.varint();
    const pids = r.varint();
    const interfaces: InterfaceCounters[] = [];
    for (let k = r.count(5); k > 0; k--) {
      const name = names[r.varint()];
      if (name === undefined) throw new WireFormatError('interface name index out of range');
      interfaces.push({
        name,
        rxBytes: r.varint(),
        rxPackets: r.varint(),
        txBytes: r.varint(),
        txPackets: r.varint(),
      });
    }
    samples.push({
      ref,
      offsetMs,
      generation,
      cpuUsec,
      memoryUsageBytes,
      memoryInactiveFileBytes,
      memoryLimitBytes: limit === 0 ? null : fromPageCoded(limit),
      cpuLimitMillis: cpuLimit === 0 ? null : cpuLimit,
      pids,
      interfaces,
    });
  }
  if (!r.done) throw new WireFormatError('bytes after the last sample');
  return { node, epoch, seq, t, intervalMs, cpus, source, samples };
}
