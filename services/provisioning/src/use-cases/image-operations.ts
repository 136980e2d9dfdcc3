import { randomUUID } from 'node:crypto';
import { inTransaction, type Principal } from '@testbed/kit';
import { IMAGE_KINDS, type ImageKind, type OperationRecord, type WorkOf } from '../domain/operation-work';
import type { NewOperation } from '../store/operation-store';
import { digestsFor } from '../domain/image-digests';
import { inspectImage, listImages, pullImage } from '../docker/node-images';
import type { NodeDocker } from '../docker/node-docker';
import { findNode } from '../store/node-store';
import { findByIdempotencyKey, insertOperation, lockOperation } from '../store/operation-store';
import { endOperation } from '../operations/end-operation';
import type { OperationWorker } from '../operations/workers';
import { checkUpdates, imageProblem, type ImageOutcome } from './update-check';
import { getNode } from './nodes';
import type { ProvisioningContext } from '../context';

/**
 * A running image operation whose worker died is run again (pulls are idempotent; a check
 * pulls only what is still outdated) while it is younger than this; an older one fails.
 */
export const IMAGE_RESUME_WINDOW_MS = 30 * 60_000;

/** GET /v1/nodes/{node}/images: what the node's daemon has. */
export async function imagesOnNode(ctx: ProvisioningContext, name: string) {
  const images = await listImages(ctx.dockers.for(await getNode(ctx, name)));
  return images.map((i) => ({
    id: i.Id,
    tags: i.RepoTags ?? [],
    digests: i.RepoDigests ?? [],
    size: i.Size,
    created: new Date(i.Created * 1000).toISOString(),
  }));
}

/**
 * The operation (running, claimed by this process) in one transaction; its Docker work starts
 * after the commit. The same Idempotency-Key answers the earlier operation.
 */
export async function startImageOperation(
  ctx: ProvisioningContext,
  kind: ImageKind,
  who: Principal,
  work: WorkOf<ImageKind>,
  idempotencyKey: string | undefined,
): Promise<OperationRecord> {
  const node = await getNode(ctx, work.node);
  return inTransaction(ctx.db, async ({ tx, afterCommit }) => {
    if (idempotencyKey) {
      const earlier = await findByIdempotencyKey(tx, idempotencyKey);
      if (earlier) return earlier;
    }
    const op = await insertOperation(tx, {
      id: randomUUID(),
      kind,
      state: 'running',
      owner: who.subject,
      request: { ...work, node: node.name },
      saga: { ...work, node: node.name },
      idempotencyKey: idempotencyKey ?? null,
      claimedBy: ctx.workerId,
      claimedAt: ctx.clock.now(),
    } as NewOperation<ImageKind>);
    afterCommit(() => ctx.kick(op.kind, op.id));
    return op;
  });
}

async function pullOne(d: NodeDocker, image: string): Promise<ImageOutcome> {
  try {
    await pullImage(d, image);
    const found = await inspectImage(d, image);
    return {
      state: 'succeeded',
      result: {
        node: d.node,
        image,
        id: found?.id ?? null,
        digests: found ? digestsFor(image, found.repoDigests) : [],
      },
    };
  } catch (err) {
    return { state: 'failed', error: imageProblem(err, d.node) };
  }
}

/** Pulls and checks, run by the process that holds the operation's claim. */
export function imageWorker(ctx: ProvisioningContext): OperationWorker<ImageKind> {
  return {
    kinds: IMAGE_KINDS,
    async perform(op) {
      const node = await inTransaction(ctx.db, ({ tx }) => findNode(tx, op.saga.node));
      const outcome: ImageOutcome = !node
        ? {
            state: 'failed',
            error: { type: 'node-not-found', status: 404, detail: 'the node is no longer registered' },
          }
        : op.kind === 'image.pull'
          ? await pullOne(ctx.dockers.for(node), op.saga.image)
          : await checkUpdates(ctx, op.id, ctx.dockers.for(node), op.saga.dryRun);
      await inTransaction(ctx.db, async ({ tx }) => {
        const locked = await lockOperation(tx, op.id);
        // Another worker took it over meanwhile (this one looked dead): it records the outcome.
        if (!locked || locked.state !== 'running' || locked.claimedBy !== ctx.workerId) return;
        await endOperation(ctx, tx, locked, outcome);
      });
    },
    pastSaving: (op) => op.createdAt.getTime() < ctx.clock.now().getTime() - IMAGE_RESUME_WINDOW_MS,
    abandon: (tx, op) =>
      endOperation(ctx, tx, op, {
        state: 'failed',
        error: {
          type: 'worker-lost',
          status: 503,
          detail: `the process working on it stopped and the operation is older than ${IMAGE_RESUME_WINDOW_MS / 60_000} minutes: not run again`,
        },
      }),
  };
}
