import { inTransaction } from '@testbed/kit';
import { compareDigests, digestsFor, type UpdateStatus } from '../domain/image-digests';
import type { OperationError } from '../domain/operation-work';
import { DockerCallError, messageOf } from '../docker/deadline';
import type { NodeDocker } from '../docker/node-docker';
import { inspectImage, listImages, pullImage, registryDigest } from '../docker/node-images';
import { findOperation } from '../store/operation-store';
import type { EndState } from '../operations/end-operation';
import type { ProvisioningContext } from '../context';

/** One tagged image of a node in the update check. */
export interface ImageUpdate {
  image: string;
  id: string;
  /** The registry digest the node has for this image's repository; null for imported or built images. */
  currentDigest: string | null;
  remoteDigest: string | null;
  status: UpdateStatus | 'error';
  /** Pulled by this check (never in a dry run). */
  updated: boolean;
  newId?: string;
  detail?: string;
}

export interface ImageOutcome {
  state: EndState;
  result?: unknown;
  error?: OperationError;
}

const NO_REGISTRY_DIGEST =
  'no registry digest: imported or built on the node, never pulled from or pushed to a registry';

/** A Docker failure of an image operation, by its meaning (a missing image is a 404). */
export function imageProblem(err: unknown, node: string): OperationError {
  const status = err instanceof DockerCallError ? err.status : 503;
  return { type: status === 404 ? 'image-not-found' : 'docker-failed', status, detail: messageOf(err), node };
}

/**
 * The update check of every tagged image on the node (the second thesis' `docker update`): the
 * registry's current digest, asked through the daemon, against the node's; outdated images are
 * pulled unless it is a dry run. Images without a registry digest are reported, not guessed.
 */
export async function checkUpdates(
  ctx: ProvisioningContext,
  operationId: string,
  d: NodeDocker,
  dryRun: boolean,
): Promise<ImageOutcome> {
  let tags: string[];
  try {
    const listed = await listImages(d);
    tags = [...new Set(listed.flatMap((i) => i.RepoTags ?? []))].filter((t) => t !== '<none>:<none>').sort();
  } catch (err) {
    return { state: 'failed', error: imageProblem(err, d.node) };
  }
  const images: ImageUpdate[] = [];
  let cancelled = false;
  for (const ref of tags) {
    const op = await inTransaction(ctx.db, ({ tx }) => findOperation(tx, operationId));
    if (op?.cancelRequested) {
      cancelled = true;
      break;
    }
    const row = await checkOne(d, ref, dryRun);
    if (row) images.push(row);
  }
  const failed = images.filter(
    (i) => i.status === 'error' || (i.status === 'outdated' && !dryRun && !i.updated),
  );
  // Images without a registry digest were never asked about: they neither pass nor fail the check.
  const asked = images.filter((i) => i.status !== 'unknown');
  const result = {
    node: d.node,
    dryRun,
    checked: asked.length,
    outdated: images.filter((i) => i.status === 'outdated').length,
    updated: images.filter((i) => i.updated).length,
    images,
  };
  if (cancelled)
    return {
      state: 'cancelled',
      result,
      error: { type: 'cancelled', status: 409, detail: 'cancelled by the client' },
    };
  if (failed.length === 0) return { state: 'succeeded', result };
  return {
    state: failed.length === asked.length ? 'failed' : 'partially_succeeded',
    result,
    error: {
      type: 'docker-failed',
      status: 502,
      detail: failed.map((i) => `${i.image}: ${i.detail}`).join('; '),
      node: d.node,
    },
  };
}

/** One tag; undefined when it vanished from the node meanwhile. */
async function checkOne(d: NodeDocker, ref: string, dryRun: boolean): Promise<ImageUpdate | undefined> {
  let local;
  try {
    local = await inspectImage(d, ref);
  } catch (err) {
    return {
      image: ref,
      id: '',
      currentDigest: null,
      remoteDigest: null,
      status: 'error',
      updated: false,
      detail: messageOf(err),
    };
  }
  if (!local) return undefined;
  const base = { image: ref, id: local.id, updated: false };
  const known = digestsFor(ref, local.repoDigests);
  if (known.length === 0)
    return {
      ...base,
      currentDigest: null,
      remoteDigest: null,
      status: 'unknown',
      detail: NO_REGISTRY_DIGEST,
    };
  let remote: string;
  try {
    remote = await registryDigest(d, ref);
  } catch (err) {
    return { ...base, currentDigest: known[0]!, remoteDigest: null, status: 'error', detail: messageOf(err) };
  }
  const { status, currentDigest } = compareDigests(ref, local.repoDigests, remote);
  const row: ImageUpdate = { ...base, currentDigest, remoteDigest: remote, status };
  if (status !== 'outdated' || dryRun) return row;
  try {
    await pullImage(d, ref);
    const after = await inspectImage(d, ref);
    return { ...row, updated: true, ...(after ? { newId: after.id } : {}) };
  } catch (err) {
    return { ...row, detail: messageOf(err) };
  }
}
