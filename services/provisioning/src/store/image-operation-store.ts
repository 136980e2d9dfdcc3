import type { Tx } from '@testbed/kit';

/** Operations on a node's images: rows in provisioning.operation, outside the create saga (SAGA_KINDS). */
export const IMAGE_KINDS = ['image.pull', 'image.check-updates'] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];

/** Running image operations nobody works on: no claim, or a claim older than `staleBefore` (its worker died). */
export const staleImageOperations = (tx: Tx, staleBefore: Date) =>
  tx.operation.findMany({
    where: {
      state: 'running',
      kind: { in: [...IMAGE_KINDS] },
      OR: [{ claimedAt: null }, { claimedAt: { lt: staleBefore } }],
    },
    select: { id: true, createdAt: true },
  });

/** Renews this worker's claim; a claim another worker took over is left alone. */
export const renewClaim = (tx: Tx, id: string, workerId: string, now: Date) =>
  tx.operation.updateMany({ where: { id, state: 'running', claimedBy: workerId }, data: { claimedAt: now } });
