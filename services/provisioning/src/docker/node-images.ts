import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Daemon } from './daemon';
import { DockerCallError, isNotFound } from './deadline';
import { followProgress } from './streams';

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
export async function pullImage(d: Daemon, image: string, ms = PULL_TIMEOUT_MS): Promise<void> {
  let stream: Readable | undefined;
  try {
    await d.call(
      `pull ${image}`,
      async () => {
        try {
          stream = (await d.docker.pull(image)) as unknown as Readable;
        } catch (err) {
          throw DockerCallError.of(d.node, `pull ${image}`, err);
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
export async function inspectImage(d: Daemon, ref: string): Promise<LocalImage | undefined> {
  try {
    const info = await d.call(`inspect image ${ref}`, () => d.docker.getImage(ref).inspect());
    return { id: info.Id, tags: info.RepoTags ?? [], repoDigests: info.RepoDigests ?? [] };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function listImages(d: Daemon): Promise<Docker.ImageInfo[]> {
  return d.call('list images', () => d.docker.listImages());
}

/**
 * The digest the registry currently serves for `ref`, asked through the node's daemon
 * (`GET /distribution/{name}/json`): the daemon holds the registry credentials and network path,
 * so the platform never talks to registries itself.
 */
export async function registryDigest(d: Daemon, ref: string): Promise<string> {
  const info = await d.call(`registry digest of ${ref}`, async () => {
    try {
      return await d.docker.getImage(ref).distribution();
    } catch (err) {
      throw DockerCallError.of(d.node, `registry digest of ${ref}`, err);
    }
  });
  return info.Descriptor.digest;
}
