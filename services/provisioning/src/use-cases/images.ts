import { randomUUID } from 'node:crypto';
import type { PeriodicTask } from '@testbed/kit';
import {
  compareDigests,
  digestsFor,
  inspectImage,
  pullImage,
  registryDigest,
  type UpdateStatus,
} from '../docker/node-images';
import { DockerCallError } from '../docker/deadline';
import type { NodeDocker } from '../docker/node-docker';
import { findNode } from '../store/node-store';
import {
  findByIdempotencyKey,
  findOperation,
  insertOperation,
  lockOperation,
  unclaimedRunning,
  updateOperation,
  type OperationRecord,
  type OperationState,
  type Saga,
} from '../store/operation-store';
import { IMAGE_KINDS, type ImageKind } from '../store/image-operation-store';
import { ClaimedOperations, staleBefore } from './claims';
import { announceOperation } from './saga';
import type { ProvisioningContext } from './context';

/**
 * A running image operation whose worker died is run again (pulls are idempotent; a check
 * pulls only what is still outdated) while it is younger than this; an older one fails.
 */
export const IMAGE_RESUME_WINDOW_MS = 30 * 60_000;

export interface PullRequest {
  node: string;
  image: string;
}

export interface CheckUpdatesRequest {
  node: string;
  dryRun: boolean;
}

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

interface Outcome {
  state: OperationState;
  result?: unknown;
  error?: Record<string, unknown>;
}

const NO_REGISTRY_DIGEST =
  'no registry digest: imported or built on the node, never pulled from or pushed to a registry';

const messageOf = (err: unknown) =>
  err instanceof DockerCallError ? err.daemonMessage : err instanceof Error ? err.message : String(err);

/**
 * The operation (running, claimed by this process) in one transaction; its Docker work starts
 * after the commit. The same Idempotency-Key answers the earlier operation.
 */
export async function startImageOperation(
  ctx: ProvisioningContext,
  kind: ImageKind,
  owner: string,
  request: PullRequest | CheckUpdatesRequest,
  idempotencyKey: string | undefined,
): Promise<OperationRecord> {
  const op = await ctx.db.prisma.$transaction(async (tx) => {
    if (idempotencyKey) {
      const earlier = await findByIdempotencyKey(tx, idempotencyKey);
      if (earlier) return earlier;
    }
    const id = randomUUID();
    await insertOperation(tx, {
      id,
      kind,
      state: 'running',
      owner,
      request,
      saga: {} as Saga,
      idempotencyKey: idempotencyKey ?? null,
    });
    await updateOperation(tx, id, { claimedBy: ctx.workerId, claimedAt: ctx.clock.now() });
    return (await findOperation(tx, id))!;
  });
  if (op.state === 'running') runImageOperation(ctx, op.id);
  return op;
}

/** Pulls and checks, run by the process that holds the operation's claim. */
class ImageOperations extends ClaimedOperations {
  constructor(ctx: ProvisioningContext) {
    super(ctx, 'image operation');
  }

  protected async perform(op: OperationRecord): Promise<void> {
    const { ctx } = this;
    const node = await ctx.db.prisma.$transaction((tx) =>
      findNode(tx, (op.request as { node: string }).node),
    );
    const outcome: Outcome = !node
      ? {
          state: 'failed',
          error: { type: 'node-not-found', status: 404, detail: 'the node is no longer registered' },
        }
      : op.kind === 'image.pull'
        ? await pullOne(ctx.dockers.for(node), op.request as PullRequest)
        : await checkUpdates(ctx, op.id, ctx.dockers.for(node), op.request as CheckUpdatesRequest);
    await finish(ctx, op.id, outcome);
  }
}

const workers = new WeakMap<ProvisioningContext, ImageOperations>();

/** Runs an image operation in the background, once per process. */
export function runImageOperation(ctx: ProvisioningContext, id: string): void {
  let w = workers.get(ctx);
  if (!w) workers.set(ctx, (w = new ImageOperations(ctx)));
  w.kick(id);
}

/** Waits for this process's image work in hand (graceful stop). */
export async function drainImageOperations(ctx: ProvisioningContext): Promise<void> {
  await workers.get(ctx)?.drain();
}

async function finish(ctx: ProvisioningContext, id: string, outcome: Outcome): Promise<void> {
  await ctx.db.prisma.$transaction(async (tx) => {
    const op = await lockOperation(tx, id);
    // Another worker took it over meanwhile (this one looked dead): it records the outcome.
    if (!op || op.state !== 'running' || op.claimedBy !== ctx.workerId) return;
    await updateOperation(tx, id, {
      state: outcome.state,
      result: (outcome.result ?? null) as never,
      error: (outcome.error ?? null) as never,
      claimedBy: null,
      claimedAt: null,
    });
    await announceOperation(ctx, tx, id, op.owner, outcome.state);
  });
}

function dockerProblem(err: unknown, node: string): Record<string, unknown> {
  const notFound = err instanceof DockerCallError && err.statusCode === 404;
  return {
    type: notFound ? 'image-not-found' : 'docker-failed',
    status: notFound ? 404 : 503,
    detail: messageOf(err),
    node,
  };
}

async function pullOne(d: NodeDocker, req: PullRequest): Promise<Outcome> {
  try {
    await pullImage(d, req.image);
    const image = await inspectImage(d, req.image);
    return {
      state: 'succeeded',
      result: {
        node: d.node,
        image: req.image,
        id: image?.id ?? null,
        digests: image ? digestsFor(req.image, image.repoDigests) : [],
      },
    };
  } catch (err) {
    return { state: 'failed', error: dockerProblem(err, d.node) };
  }
}

/**
 * The update check of every tagged image on the node (the second thesis' `docker update`): the
 * registry's current digest, asked through the daemon, against the node's; outdated images are
 * pulled unless it is a dry run. Images without a registry digest are reported, not guessed.
 */
async function checkUpdates(
  ctx: ProvisioningContext,
  id: string,
  d: NodeDocker,
  req: CheckUpdatesRequest,
): Promise<Outcome> {
  let tags: string[];
  try {
    const listed = await d.listImages();
    tags = [...new Set(listed.flatMap((i) => i.RepoTags ?? []))].filter((t) => t !== '<none>:<none>').sort();
  } catch (err) {
    return { state: 'failed', error: dockerProblem(err, d.node) };
  }
  const images: ImageUpdate[] = [];
  let cancelled = false;
  for (const ref of tags) {
    const op = await ctx.db.prisma.$transaction((tx) => findOperation(tx, id));
    if (op?.cancelRequested) {
      cancelled = true;
      break;
    }
    const row = await checkOne(d, ref, req.dryRun);
    if (row) images.push(row);
  }
  const failed = images.filter(
    (i) => i.status === 'error' || (i.status === 'outdated' && !req.dryRun && !i.updated),
  );
  // Images without a registry digest were never asked about: they neither pass nor fail the check.
  const asked = images.filter((i) => i.status !== 'unknown');
  const result = {
    node: d.node,
    dryRun: req.dryRun,
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
      status: 503,
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

/**
 * A process that died mid-pull leaves its operation running with a claim that goes stale: the
 * leader runs it again, or fails it once it is older than IMAGE_RESUME_WINDOW_MS.
 */
export async function resumeImageOperations(ctx: ProvisioningContext): Promise<void> {
  const now = ctx.clock.now().getTime();
  const stale = await ctx.db.prisma.$transaction((tx) => unclaimedRunning(tx, IMAGE_KINDS, staleBefore(ctx)));
  for (const op of stale) {
    if (op.createdAt.getTime() >= now - IMAGE_RESUME_WINDOW_MS) runImageOperation(ctx, op.id);
    else await failLost(ctx, op.id);
  }
}

async function failLost(ctx: ProvisioningContext, id: string): Promise<void> {
  await ctx.db.prisma.$transaction(async (tx) => {
    const op = await lockOperation(tx, id);
    const staleBefore = ctx.clock.now().getTime() - ctx.config.PROVISIONING_CLAIM_STALE_MS;
    if (!op || op.state !== 'running' || (op.claimedAt && op.claimedAt.getTime() >= staleBefore)) return;
    await updateOperation(tx, id, {
      state: 'failed',
      error: {
        type: 'worker-lost',
        status: 503,
        detail: `the process working on it stopped and the operation is older than ${IMAGE_RESUME_WINDOW_MS / 60_000} minutes: not run again`,
      } as never,
      claimedBy: null,
      claimedAt: null,
    });
    await announceOperation(ctx, tx, id, op.owner, 'failed');
  });
}

/** The leader task that picks up image operations whose worker died. */
export function imageOperationsTask(ctx: ProvisioningContext): PeriodicTask {
  return {
    name: 'provisioning-image-operations',
    intervalMs: ctx.config.PROVISIONING_RESUME_INTERVAL_MS,
    run: () => resumeImageOperations(ctx),
  };
}
