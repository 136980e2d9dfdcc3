import type { Prisma, Tx } from '@testbed/kit';

/** A batch's record, as the generated client types it. */
export type BatchRecord = Prisma.BatchModel;

export const findBatch = (tx: Tx, id: string) => tx.batch.findUnique({ where: { id } });

export const insertBatch = (tx: Tx, b: Omit<BatchRecord, 'createdAt'>) => tx.batch.create({ data: b });
