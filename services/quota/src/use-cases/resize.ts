import { enqueueEvent, type Tx } from '@testbed/kit';
import { addResources, decideAdmission, noResources } from '../domain/limits';
import { QUOTA_EVENTS, quotaEventTypes, type resizeRequested } from '../events/contracts';
import { usageOf } from '../store/usage-store';
import { lockUser } from '../store/user-store';
import { userLimits } from './users';
import type { QuotaContext } from './context';
import type { z } from 'zod';

type ResizeRequest = z.output<typeof resizeRequested>;

/**
 * Decides a live resize under the user's lock: the user's usage without this container, plus the
 * container at its new size, must fit the limits. Granted, the container's usage takes the new
 * size at once; shrinking always fits and gives the difference back.
 */
export async function resize(ctx: QuotaContext, input: ResizeRequest, tx: Tx): Promise<boolean> {
  await lockUser(tx, input.user);
  const answer = (type: string, data: object) =>
    enqueueEvent(tx, {
      source: ctx.source,
      topic: QUOTA_EVENTS,
      key: input.user,
      type,
      subject: input.user,
      data: { requestId: input.requestId, user: input.user, containerId: input.containerId, ...data },
      time: ctx.clock.now(),
    });
  const row = await tx.containerUsage.findUnique({ where: { containerId: input.containerId } });
  if (!row || row.user !== input.user) {
    await answer(quotaEventTypes.resizeRejected, {
      code: 'unknown-container',
      status: 409,
      reason: `container '${input.containerId}' of '${input.user}' is not counted (yet): try again once it runs`,
    });
    return false;
  }
  if (!input.force) {
    const { running, held } = await usageOf(tx, input.user, ctx.clock.now());
    const others = addResources(addResources(running, held), {
      ...noResources,
      containers: -1,
      cpuMillis: -row.cpuMillis,
      memoryBytes: -Number(row.memoryBytes),
      addresses: -row.addresses,
    });
    const verdict = decideAdmission(await userLimits(ctx, tx, input.user), others, {
      containers: 1,
      cpuMillis: input.cpuMillis,
      memoryBytes: input.memoryBytes,
      addresses: row.addresses,
    });
    if (!verdict.granted) {
      await answer(quotaEventTypes.resizeRejected, {
        code: 'quota-exceeded',
        status: 409,
        reason: verdict.reason,
      });
      return false;
    }
  }
  await tx.containerUsage.update({
    where: { containerId: input.containerId },
    data: { cpuMillis: input.cpuMillis, memoryBytes: BigInt(input.memoryBytes) },
  });
  await answer(quotaEventTypes.resizeGranted, { cpuMillis: input.cpuMillis, memoryBytes: input.memoryBytes });
  return true;
}
