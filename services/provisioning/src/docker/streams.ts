import type { Readable } from 'node:stream';
import { DockerCallError } from './deadline';

/**
 * Docker's streaming answers (`/events`, a pull's progress) are JSON lines that arrive split
 * anywhere: calls `onLine` with each whole line, the last one when the stream ends.
 */
export function readLines(stream: Readable, onLine: (line: string) => void): { flush(): void } {
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
  });
  return {
    flush() {
      const rest = buffered;
      buffered = '';
      if (rest.trim()) onLine(rest);
    },
  };
}

/** A JSON line parsed, or undefined when it is not JSON (a partial line never is). */
export function parseLine<T>(line: string): T | undefined {
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}

export interface DockerEvent {
  action: string;
  dockerId: string;
  /** The platform's id of the container (its testbed.container-id label). */
  containerId: string;
}

/** `/events` lines of containers, as the platform reads them; the returned function closes the stream. */
export function readContainerEvents(
  stream: Readable,
  idLabel: string,
  onEvent: (e: DockerEvent) => void,
  onEnd: (err?: Error) => void,
): () => void {
  readLines(stream, (line) => {
    const e = parseLine<{ Action?: string; id?: string; Actor?: { Attributes?: Record<string, string> } }>(
      line,
    );
    if (!e) return;
    onEvent({
      action: e.Action ?? '',
      dockerId: e.id ?? '',
      containerId: e.Actor?.Attributes?.[idLabel] ?? '',
    });
  });
  stream.on('end', () => onEnd());
  stream.on('error', (err: Error) => onEnd(err));
  return () => stream.destroy();
}

/**
 * Reads a daemon's JSON-lines progress stream (pull, push) to its end. An `error` line fails it
 * with the daemon's message; so does a stream cut before its end (the daemon or the socket died).
 */
export function followProgress(stream: Readable, node: string, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failure: DockerCallError | undefined;
    const lines = readLines(stream, (line) => {
      if (failure) return;
      const event = parseLine<{ error?: string; errorDetail?: { message?: string } }>(line);
      const message = event?.errorDetail?.message ?? event?.error;
      if (message) failure = new DockerCallError(node, what, message.trim(), undefined);
    });
    stream.on('end', () => {
      lines.flush();
      if (failure) reject(failure);
      else resolve();
    });
    stream.on('error', (err: Error) =>
      reject(
        failure ?? new DockerCallError(node, what, `stream broken: ${err.message}`, undefined, 'unreachable'),
      ),
    );
    stream.on('close', () => {
      if (!stream.readableEnded)
        reject(
          failure ??
            new DockerCallError(
              node,
              what,
              'stream closed before the daemon finished',
              undefined,
              'unreachable',
            ),
        );
    });
  });
}

/** Docker multiplexes stdout/stderr of a non-tty container in 8-byte framed chunks. */
export function demultiplex(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    if (kind !== 0 && kind !== 1 && kind !== 2) return buf; // not multiplexed
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return out.length > 0 ? Buffer.concat(out) : buf;
}
