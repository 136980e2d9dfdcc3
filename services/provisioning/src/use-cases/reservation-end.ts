import { randomUUID } from 'node:crypto';
import type { Tx } from '@testbed/kit';
import {
  findByIdempotencyKey,
  insertOperation,
  lockOperation,
  type OperationRecord,
} from '../store/operation-store';
import { stopReservationContainers } from './containers';
import { ClaimedOperations, endOperation } from './claims';
import type { ProvisioningContext } from './context';

/**
 * An ended reservation's containers are stopped by an operation written in the same transaction
 * that consumes `reservation.ended`: if the process dies before the stops are done, the operation
 * is still there, and the leader's resume task runs it again (stopping is idempotent).
 */
export const RESERVATION_STOP = 'reservation.stop';
export const RESERVATION_STOP_KINDS = [RESERVATION_STOP] as const;

export interface ReservationEnd {
  reservationId: string;
  user: string;
  nodes: string[];
}

/** Records the stops to make; answers the operation's id, or undefined when this end was seen before. */
export async function recordReservationEnd(
  ctx: ProvisioningContext,
  tx: Tx,
  end: ReservationEnd,
): Promise<string | undefined> {
  const key = `reservation-end:${end.reservationId}`;
  if (await findByIdempotencyKey(tx, key)) return undefined;
  const id = randomUUID();
  await insertOperation(tx, {
    id,
    kind: RESERVATION_STOP,
    state: 'running',
    owner: end.user,
    request: end,
    saga: {} as never,
    idempotencyKey: key,
  });
  return id;
}

export class ReservationStops extends ClaimedOperations {
  constructor(ctx: ProvisioningContext) {
    super(ctx, 'reservation stop');
  }

  protected async perform(op: OperationRecord): Promise<void> {
    const end = op.request as ReservationEnd;
    const outcome = await stopReservationContainers(this.ctx, end.user, end.nodes);
    await finish(this.ctx, op, outcome);
  }
}

async function finish(
  ctx: ProvisioningContext,
  op: OperationRecord,
  outcome: { stopped: string[]; failed: { containerId: string; error: string }[] },
): Promise<void> {
  const state =
    outcome.failed.length === 0 ? 'succeeded' : outcome.stopped.length > 0 ? 'partially_succeeded' : 'failed';
  await ctx.db.prisma.$transaction(async (tx) => {
    const locked = await lockOperation(tx, op.id);
    if (!locked || locked.state !== 'running') return;
    await endOperation(
      ctx,
      tx,
      locked,
      state,
      { stopped: outcome.stopped },
      outcome.failed.length > 0 ? { type: 'stop-failed', failed: outcome.failed } : null,
    );
  });
}
