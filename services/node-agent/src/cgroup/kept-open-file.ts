import fs from 'node:fs';

/**
 * A cgroup or /proc file opened once and read again from offset 0 on every interval: the kernel
 * regenerates the content on each read, and skipping open/close is most of the cost (RIG.md:
 * about 10 µs per container instead of 74 µs).
 *
 * Every read lands in one buffer shared by all files: reads are synchronous and their bytes are
 * parsed before the next read, so they never overlap, and nothing is allocated per read.
 */
let shared = Buffer.allocUnsafe(16 * 1024);
/** memory.stat of cgroup v2 is the largest file read (about 1.5 kB); nothing honest comes near this. */
const MAX_FILE_BYTES = 1024 * 1024;

/** The file's cgroup or process is gone (container stopped or restarted): its counters end here. */
export class CounterFileGoneError extends Error {
  override readonly name = 'CounterFileGoneError';
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`${path}: ${code}`);
  }
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err));
}

export class KeptOpenFile {
  private fd: number | undefined;

  /** Throws CounterFileGoneError when the file cannot be opened (ENOENT: no such cgroup or process). */
  constructor(readonly path: string) {
    try {
      this.fd = fs.openSync(path, 'r');
    } catch (err) {
      throw new CounterFileGoneError(path, codeOf(err));
    }
  }

  /**
   * The whole file as it is now: a view of the shared buffer, valid until the next read of any
   * kept-open file. Throws CounterFileGoneError once the cgroup is removed (ENODEV) or the
   * process exited (ESRCH, or nothing to read).
   */
  read(): Buffer {
    if (this.fd === undefined) throw new CounterFileGoneError(this.path, 'closed');
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.fd, shared, 0, shared.length, 0);
      } catch (err) {
        throw new CounterFileGoneError(this.path, codeOf(err));
      }
      if (n === 0) throw new CounterFileGoneError(this.path, 'empty');
      if (n < shared.length) return shared.subarray(0, n);
      // Filled the buffer: the file may be longer. Grow once and read it again from the start.
      if (shared.length >= MAX_FILE_BYTES) throw new CounterFileGoneError(this.path, 'larger than 1 MiB');
      shared = Buffer.allocUnsafe(shared.length * 2);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // An fd of a removed cgroup still closes; nothing else can fail here that we could act on.
    }
    this.fd = undefined;
  }
}

/** Opens every path, or none: a failure closes what was already opened. */
export function openAll<K extends string>(paths: Record<K, string>): Record<K, KeptOpenFile> {
  const opened: Partial<Record<K, KeptOpenFile>> = {};
  try {
    for (const key of Object.keys(paths) as K[]) opened[key] = new KeptOpenFile(paths[key]);
  } catch (err) {
    for (const f of Object.values(opened) as KeptOpenFile[]) f.close();
    throw err;
  }
  return opened as Record<K, KeptOpenFile>;
}

/** Opens the file when it exists, undefined when it does not (a limit whose controller is absent). */
export function openIfPresent(path: string): KeptOpenFile | undefined {
  try {
    return new KeptOpenFile(path);
  } catch (err) {
    if (err instanceof CounterFileGoneError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}
