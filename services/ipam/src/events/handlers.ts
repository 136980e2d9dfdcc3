import { DomainError, enqueueEvent, type CloudEvent, type Subscription, type Tx } from '@testbed/kit';
import { allocate } from '../use-cases/allocate';
import { bindAddress, releaseAddresses, releaseContainer, releaseRequest } from '../use-cases/release';
import type { IpamContext } from '../use-cases/context';
import {
  allocateRequested,
  containerEvent,
  IPAM_COMMANDS,
  IPAM_EVENTS,
  ipamEventTypes,
  PROVISIONING_EVENTS,
  releaseRequested,
} from './contracts';

/**
 * An allocation command that cannot be served is answered with `ipam.allocate.failed` (the
 * saga compensates on it), not retried: only infrastructure errors go back to the bus's retries.
 */
async function onAllocateRequested(ctx: IpamContext, event: CloudEvent<unknown>, tx: Tx): Promise<void> {
  const parsed = allocateRequested.safeParse(event.data);
  const requestId = (parsed.success && parsed.data.requestId) || event.id;
  const fail = (reason: string, status: number, firstConflict: string | null) =>
    enqueueEvent(tx, {
      source: ctx.source,
      topic: IPAM_EVENTS,
      key: parsed.success ? parsed.data.pool : 'invalid',
      type: ipamEventTypes.allocateFailed,
      subject: parsed.success ? parsed.data.pool : undefined,
      data: { requestId, pool: parsed.success ? parsed.data.pool : null, reason, status, firstConflict },
    });
  if (!parsed.success) {
    await fail(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), 422, null);
    return;
  }
  try {
    await allocate(ctx, { ...parsed.data, requestId }, tx);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    const firstConflict = (err.extensions.firstConflict as string | undefined) ?? null;
    await fail(err.message, err.status, firstConflict);
  }
}

async function onReleaseRequested(ctx: IpamContext, event: CloudEvent<unknown>, tx: Tx): Promise<void> {
  const parsed = releaseRequested.safeParse(event.data);
  if (!parsed.success) return; // nothing to release from a malformed command; the bus logs the event id
  const { pool, ips, allocationRequestId } = parsed.data;
  if (allocationRequestId) await releaseRequest(ctx, allocationRequestId, tx);
  if (pool && ips) await releaseAddresses(ctx, pool, ips, tx);
}

async function onContainerStarted(ctx: IpamContext, event: CloudEvent<unknown>, tx: Tx): Promise<void> {
  const { containerId, interfaces } = containerEvent.parse(event.data);
  for (const { pool, ip } of interfaces) await bindAddress(ctx, pool, ip, containerId, tx);
}

async function onContainerRemoved(ctx: IpamContext, event: CloudEvent<unknown>, tx: Tx): Promise<void> {
  await releaseContainer(ctx, containerEvent.parse(event.data).containerId, tx);
}

/** A second interface's address moved or went: what it no longer holds comes back to its pool. */
async function onInterfaceDetached(ctx: IpamContext, event: CloudEvent<unknown>, tx: Tx): Promise<void> {
  for (const { pool, ip } of containerEvent.parse(event.data).interfaces)
    await releaseAddresses(ctx, pool, [ip], tx);
}

export function ipamSubscriptions(ctx: IpamContext): Subscription[] {
  const handlers: Record<string, (event: CloudEvent<unknown>, tx: Tx) => Promise<void>> = {
    [ipamEventTypes.allocateRequested]: (e, tx) => onAllocateRequested(ctx, e, tx),
    [ipamEventTypes.releaseRequested]: (e, tx) => onReleaseRequested(ctx, e, tx),
    [ipamEventTypes.containerStarted]: (e, tx) => onContainerStarted(ctx, e, tx),
    [ipamEventTypes.containerRemoved]: (e, tx) => onContainerRemoved(ctx, e, tx),
    // An attached interface's address is bound like a started container's.
    [ipamEventTypes.interfaceAttached]: (e, tx) => onContainerStarted(ctx, e, tx),
    [ipamEventTypes.interfaceDetached]: (e, tx) => onInterfaceDetached(ctx, e, tx),
  };
  return [
    {
      consumer: 'ipam',
      topics: [IPAM_COMMANDS, PROVISIONING_EVENTS],
      handle: async (event, { tx }) => {
        await handlers[event.type]?.(event, tx);
      },
    },
  ];
}
