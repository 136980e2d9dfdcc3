import { randomUUID } from 'node:crypto';
import type { AfterCommit, Tx } from '@testbed/kit';
import type { ReservationStopWork } from '../domain/operation-work';
import { findByIdempotencyKey, insertOperation, lockOperation } from '../store/operation-store';
import { endOperation } from '../operations/end-operation';
import type { OperationWorker } from '../operations/workers';
import { stopReservationContainers } from './containers';
import type { ProvisioningContext } from '../context';

/**
 * An ended reservation's containers are stopped by an operation written in the same transaction
 * that consumes `reservation.ended`: if the process dies before the stops are done, the operation
 * is still there, and the leader's resume task runs it again (stopping is idempotent).
 */
export async function recordReservationEnd(
  ctx: ProvisioningContext,
  tx: Tx,
  afterCommit: AfterCommit,
  end: ReservationStopWork,
): Promise<void> {
  const key = `reservation-end:${end.reservationId}`;
  if (await findByIdempotencyKey(tx, key)) return;
  const op = await insertOperation(tx, {
    id: randomUUID(),
    kind: 'reservation.stop',
    state: 'running',
    owner: end.user,
    request: end,
    saga: end,
    idempotencyKey: key,
  });
  // Docker work stays out of the transaction: it starts once the event's consumption commits.
  afterCommit(() => ctx.kick(op.kind, op.id));
}

export function reservationStopWorker(ctx: ProvisioningContext): OperationWorker<'reservation.stop'> {
  return {
    kinds: ['reservation.stop'],
    async perform(op) {
      const outcome = await stopReservationContainers(ctx, op.saga.user, op.saga.nodes);
      const state =
        outcome.failed.length === 0
          ? 'succeeded'
          : outcome.stopped.length > 0
            ? 'partially_succeeded'
            : 'failed';
      await ctx.db.prisma.$transaction(async (tx) => {
        const locked = await lockOperation(tx, op.id);
        if (!locked || locked.state !== 'running') return;
        await endOperation(ctx, tx, locked, {
          state,
          result: { stopped: outcome.stopped },
          error:
            outcome.failed.length > 0
              ? {
                  type: 'stop-failed',
                  status: 502,
                  detail: `${outcome.failed.length} container(s) not stopped`,
                  failed: outcome.failed,
                }
              : null,
        });
      });
    },
  };
}
