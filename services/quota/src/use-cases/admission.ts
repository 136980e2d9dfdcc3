import { enqueueEvent, type Tx } from '@testbed/kit';
import { addResources, decideAdmission, timesContainers } from '../domain/limits';
import type { ContainerStartedEvent } from '@testbed/provisioning/src/events/contracts';
import {
  QUOTA_EVENTS,
  quotaEventTypes,
  type RejectionCode,
  type ReserveGranted,
  type ReserveRejected,
  type ReserveRequested,
} from '../events/contracts';
import { findNode } from '../store/node-store';
import { coveringReservation } from '../store/reservation-store';
import {
  changeContainerAddresses,
  deleteContainer,
  findAdmission,
  insertAdmission,
  countStartedContainer,
  releaseHold,
  usageOf,
  type AdmissionRecord,
} from '../store/usage-store';
import { insertUserIfMissing, lockUser } from '../store/user-store';
import type { QuotaContext } from './context';
import { userLimits } from './users';

export type AdmissionInput = ReserveRequested & { requestId: string };

type Refusal = { code: RejectionCode; reason: string };

/** Why the request cannot be admitted whatever the user's usage; undefined when nothing stands in the way. */
async function standingRefusal(
  ctx: QuotaContext,
  tx: Tx,
  input: AdmissionInput,
  now: Date,
): Promise<Refusal | undefined> {
  const node = await findNode(tx, input.node);
  if (!node) return { code: 'unknown-node', reason: `unknown node '${input.node}'` };
  if (node.removed) return { code: 'unknown-node', reason: `node '${input.node}' has been removed` };
  if (
    ctx.config.QUOTA_ENFORCE_RESERVATIONS &&
    !(await coveringReservation(tx, input.user, input.node, now))
  ) {
    return {
      code: 'no-reservation',
      reason: `'${input.user}' holds no reservation of node '${input.node}' covering ${now.toISOString()}: book the node first`,
    };
  }
  return undefined;
}

/**
 * Decides one admission request in the caller's transaction (the bus handler's) and answers it
 * with `quota.reserve.granted` or `quota.reserve.rejected`. Decided under the user's lock, so
 * concurrent requests of one user see each other's holds. A request id already decided is
 * answered again with the same decision, whatever happened since.
 */
export async function admit(ctx: QuotaContext, input: AdmissionInput, tx: Tx): Promise<AdmissionRecord> {
  await lockUser(tx, input.user);
  const earlier = await findAdmission(tx, input.requestId);
  if (earlier) {
    await announceDecision(ctx, tx, earlier);
    return earlier;
  }
  const now = ctx.clock.now();
  // provisioning checked the caller's token, so the user is real: first sight makes it known.
  await insertUserIfMissing(tx, input.user, 'admission');
  const requested = timesContainers(input.count, input);
  let refusal = await standingRefusal(ctx, tx, input, now);
  if (!refusal) {
    const { running, held } = await usageOf(tx, input.user, now);
    const verdict = decideAdmission(
      await userLimits(ctx, tx, input.user),
      addResources(running, held),
      requested,
    );
    if (!verdict.granted) refusal = { code: 'quota-exceeded', reason: verdict.reason };
  }
  const decision: AdmissionRecord = {
    requestId: input.requestId,
    user: input.user,
    node: input.node,
    count: input.count,
    cpuMillis: input.cpuMillis,
    memoryBytes: input.memoryBytes,
    addresses: input.addresses,
    decision: refusal ? 'rejected' : 'granted',
    code: refusal?.code ?? null,
    reason: refusal?.reason ?? null,
    heldCount: refusal ? 0 : input.count,
    heldUntil: refusal ? null : new Date(now.getTime() + ctx.config.QUOTA_HOLD_SECONDS * 1000),
    releasedAt: null,
  };
  await insertAdmission(tx, decision);
  await announceDecision(ctx, tx, decision);
  return decision;
}

async function announceDecision(ctx: QuotaContext, tx: Tx, a: AdmissionRecord): Promise<void> {
  if (a.decision === 'granted') {
    const data: ReserveGranted = {
      requestId: a.requestId,
      user: a.user,
      node: a.node,
      count: a.count,
      cpuMillis: a.cpuMillis,
      memoryBytes: a.memoryBytes,
      addresses: a.addresses,
      heldUntil: (a.heldUntil ?? ctx.clock.now()).toISOString(),
    };
    await emit(ctx, tx, quotaEventTypes.reserveGranted, a.user, data);
    return;
  }
  await rejectRequest(ctx, tx, {
    requestId: a.requestId,
    user: a.user,
    node: a.node,
    code: a.code ?? 'quota-exceeded',
    reason: a.reason ?? 'rejected',
  });
}

/** Answers a request that is refused before any decision is stored (a malformed command). */
export async function rejectRequest(
  ctx: QuotaContext,
  tx: Tx,
  r: Omit<ReserveRejected, 'status'>,
): Promise<void> {
  const status = r.code === 'quota-exceeded' || r.code === 'no-reservation' ? 409 : 422;
  await emit(ctx, tx, quotaEventTypes.reserveRejected, r.user ?? 'invalid', { ...r, status });
}

function emit(ctx: QuotaContext, tx: Tx, type: string, user: string, data: object) {
  return enqueueEvent(tx, {
    source: ctx.source,
    topic: QUOTA_EVENTS,
    key: user,
    type,
    subject: user,
    data,
    time: ctx.clock.now(),
  });
}

/** Saga compensation: what the admission still holds is free again; started containers stay counted. */
export async function releaseAdmission(ctx: QuotaContext, requestId: string, tx: Tx): Promise<number> {
  const admission = await findAdmission(tx, requestId);
  if (!admission) return 0;
  await lockUser(tx, admission.user);
  const released = await releaseHold(tx, requestId, ctx.clock.now());
  if (released > 0) {
    await emit(ctx, tx, quotaEventTypes.released, admission.user, {
      requestId,
      user: admission.user,
      containers: released,
    });
  }
  return released;
}

/** A container runs: one container of its admission's hold becomes usage (replays change nothing). */
export async function containerStarted(
  ctx: QuotaContext,
  started: Pick<
    ContainerStartedEvent,
    'containerId' | 'owner' | 'node' | 'requestId' | 'cpuMillis' | 'memoryBytes' | 'addresses'
  >,
  tx: Tx,
): Promise<void> {
  // Under the owner's lock, which the statement takes itself.
  const { counted, admissionUser } = await countStartedContainer(tx, {
    containerId: started.containerId,
    user: started.owner,
    node: started.node,
    requestId: started.requestId || null,
    cpuMillis: started.cpuMillis,
    memoryBytes: started.memoryBytes,
    addresses: started.addresses,
    startedAt: ctx.clock.now(),
  });
  if (!counted) return; // a replay: its hold was taken the first time
  if (admissionUser !== started.owner) await insertUserIfMissing(tx, started.owner, 'admission');
}

export async function containerRemoved(_ctx: QuotaContext, containerId: string, tx: Tx): Promise<void> {
  await deleteContainer(tx, containerId);
}

/**
 * A second interface took (`delta` > 0) or gave back addresses: the container's usage follows, so
 * later admissions see them. Counted, not admitted: eth1 is one per container and its addresses
 * are bounded by the container limit.
 */
export async function containerAddressesChanged(
  _ctx: QuotaContext,
  containerId: string,
  delta: number,
  tx: Tx,
): Promise<void> {
  await changeContainerAddresses(tx, containerId, delta);
}
