import type { Readable } from 'node:stream';
import { DockerCallError, isNotFound } from './deadline';
import type { NodeDocker } from './node-docker';

/**
 * A pull moves whole layers: it gets far longer than one Docker call. (The client's idle socket
 * timeout still applies between progress lines: a registry stalled that long fails the pull.)
 */
export const PULL_TIMEOUT_MS = 10 * 60_000;

export interface LocalImage {
  id: string;
  tags: string[];
  /** `repo@sha256:…` of every registry manifest the daemon knows this image by (pulled or pushed). */
  repoDigests: string[];
}

/**
 * Pulls `image` and follows the daemon's progress stream to its end: the pull is done only when
 * the stream ends without an error line. Fails with the daemon's own message.
 */
export async function pullImage(d: NodeDocker, image: string, ms = PULL_TIMEOUT_MS): Promise<void> {
  let stream: Readable | undefined;
  try {
    await d.call(
      `pull ${image}`,
      async () => {
        try {
          stream = (await d.docker.pull(image)) as unknown as Readable;
        } catch (err) {
          throw daemonError(d.node, `pull ${image}`, err);
        }
        await followProgress(stream, d.node, `pull ${image}`);
      },
      ms,
    );
  } finally {
    // On a deadline the stream is still open: closing it makes the daemon cancel the pull.
    stream?.destroy();
  }
}

/** The image `ref` as the daemon has it; undefined when the node does not have it. */
export async function inspectImage(d: NodeDocker, ref: string): Promise<LocalImage | undefined> {
  try {
    const info = await d.call(`inspect image ${ref}`, () => d.docker.getImage(ref).inspect());
    return { id: info.Id, tags: info.RepoTags ?? [], repoDigests: info.RepoDigests ?? [] };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The digest the registry currently serves for `ref`, asked through the node's daemon
 * (`GET /distribution/{name}/json`): the daemon holds the registry credentials and network path,
 * so the platform never talks to registries itself.
 */
export async function registryDigest(d: NodeDocker, ref: string): Promise<string> {
  const info = await d.call(`registry digest of ${ref}`, async () => {
    try {
      return await d.docker.getImage(ref).distribution();
    } catch (err) {
      throw daemonError(d.node, `registry digest of ${ref}`, err);
    }
  });
  return info.Descriptor.digest;
}

/** The repository of a reference: without its tag or digest (`host:5000/a/b:tag` → `host:5000/a/b`). */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** The digests among `repoDigests` that belong to the repository of `ref`. */
export function digestsFor(ref: string, repoDigests: string[]): string[] {
  const repo = repositoryOf(ref);
  return repoDigests
    .filter((rd) => rd.slice(0, rd.indexOf('@')) === repo)
    .map((rd) => rd.slice(rd.indexOf('@') + 1));
}

export type UpdateStatus = 'up-to-date' | 'outdated' | 'unknown';

/**
 * Compares what the node has for `ref` with the registry's digest. An image without a registry
 * digest for its repository (imported or built on the node, never pulled or pushed) cannot be
 * compared: `unknown`, never a guess.
 */
export function compareDigests(
  ref: string,
  repoDigests: string[],
  remote: string | null,
): { status: UpdateStatus; currentDigest: string | null } {
  const local = digestsFor(ref, repoDigests);
  if (local.length === 0 || remote === null) return { status: 'unknown', currentDigest: local[0] ?? null };
  if (local.includes(remote)) return { status: 'up-to-date', currentDigest: remote };
  return { status: 'outdated', currentDigest: local[0]! };
}

/**
 * Reads a daemon's JSON-lines progress stream (pull, push) to its end. An `error` line fails it
 * with the daemon's message; so does a stream cut before its end (the daemon or the socket died).
 */
export function followProgress(stream: Readable, node: string, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buffered = '';
    let failure: DockerCallError | undefined;
    const onLine = (line: string) => {
      if (!line.trim() || failure) return;
      try {
        const event = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
        const message = event.errorDetail?.message ?? event.error;
        if (message) failure = new DockerCallError(node, what, message.trim(), undefined);
      } catch {
        // a line that is not JSON carries no error
      }
    };
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      onLine(buffered);
      if (failure) reject(failure);
      else resolve();
    });
    stream.on('error', (err: Error) =>
      reject(failure ?? new DockerCallError(node, what, `stream broken: ${err.message}`, undefined)),
    );
    stream.on('close', () => {
      if (!(stream as Readable & { readableEnded: boolean }).readableEnded)
        reject(
          failure ?? new DockerCallError(node, what, 'stream closed before the daemon finished', undefined),
        );
    });
  });
}

/**
 * dockerode reports a daemon's refusal of a streamed request as "(HTTP code 404) unexpected -
 * <message>": keep the daemon's message and the status code.
 */
function daemonError(node: string, what: string, err: unknown): DockerCallError {
  const e = err as { statusCode?: number; json?: { message?: string } | null; message?: string };
  const raw = e?.json?.message ?? e?.message ?? String(err);
  const message = /^\(HTTP code \d+\)[^-]*- ([\s\S]*)$/.exec(raw)?.[1] ?? raw;
  return new DockerCallError(node, what, message.trim(), e?.statusCode);
}
