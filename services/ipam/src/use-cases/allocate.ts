import {
  captureAudit,
  captureTraceHeaders,
  DomainError,
  enqueueEvents,
  NotFoundError,
  recordAudits,
  type AuditCapture,
  type EventHeaders,
  type Tx,
} from '@testbed/kit';
import { AddressConflictError, planAllocation, type AllocationRequest } from '../domain/allocation-plan';
import { auditEntryOf, formatIpv4, isWriteConflict, parseIpv4, type Ipv4 } from '@testbed/kit';
import { randomUUID } from 'node:crypto';
import { reservedAddresses, type Pool } from '../domain/pool';
import {
  findByRequests,
  insertAllocations,
  insertNextFree,
  lockSegment,
  type Allocation,
} from '../store/allocation-store';
import { takeNextAddresses } from '../store/next-addresses-statement';
import { findPool, firstFreeAddress, takenAddresses } from '../store/pool-store';
import { IPAM_EVENTS, ipamEventTypes } from '../events/contracts';
import { inTransaction, type IpamContext } from './context';
import { Combiner, type Outcome } from './allocation-combiner';

export interface AllocateInput {
  pool: string;
  count: number;
  start?: string;
  ip?: string;
  owner: string;
  ttlSeconds?: number;
  /** The same request id answers the same allocation again (retried commands, replays). */
  requestId?: string;
}

export interface AllocateResult {
  pool: Pool;
  items: Allocation[];
  /** False when the request id had already been served. */
  created: boolean;
}

function requestOf(input: AllocateInput): AllocationRequest {
  const address = (text: string): Ipv4 => parseIpv4(text) as Ipv4; // shape checked by the schemas
  if (input.ip) return { kind: 'address', ip: address(input.ip) };
  if (input.start) return { kind: 'block', start: address(input.start), count: input.count };
  return { kind: 'next', count: input.count };
}

/**
 * The commonest request, one next free address, becomes a request for the address the database
 * finds first; the planner then checks it like any other.
 */
export async function narrowed(tx: Tx, pool: Pool, request: AllocationRequest): Promise<AllocationRequest> {
  if (request.kind !== 'next' || request.count !== 1) return request;
  const ip = await firstFreeAddress(tx, pool.segment, pool.rangeStart, pool.rangeEnd, [
    ...reservedAddresses(pool),
  ]);
  if (ip === undefined) throw new AddressConflictError(null, `pool '${pool.name}' has no free address`);
  return { kind: 'address', ip };
}

/** Only the addresses the plan can touch are read: one, a block, or the range for a run of N. */
export function takenFor(tx: Tx, pool: Pool, request: AllocationRequest): Promise<Set<Ipv4>> {
  switch (request.kind) {
    case 'address':
      return takenAddresses(tx, pool.segment, request.ip, request.ip);
    case 'block':
      return takenAddresses(tx, pool.segment, request.start, request.start + request.count - 1);
    case 'next':
      return takenAddresses(tx, pool.segment, pool.rangeStart, pool.rangeEnd);
  }
}

export async function loadPool(tx: Tx, name: string): Promise<Pool> {
  const pool = await findPool(tx, name);
  if (!pool) throw new NotFoundError('pool', name);
  return pool;
}

/** One request with what it needs recorded later: who asked (audit) and in which trace. */
export interface PendingAllocation {
  input: AllocateInput;
  audit: AuditCapture;
  traceHeaders: EventHeaders;
}

export type AllocationOutcome = Outcome<AllocateResult>;

export function pendingAllocation(input: AllocateInput): PendingAllocation {
  return { input, audit: captureAudit(), traceHeaders: captureTraceHeaders() };
}

/** Rounds of next-address inserts one locked transaction makes at most (see serveAllocations). */
const MAX_NEXT_ROUNDS = 16;

/**
 * Serves requests for one pool in the caller's transaction, under the segment's lock: replays
 * answered from their earlier allocation, blocks and given addresses planned one by one, and
 * every request for one next address served by one statement that takes the lowest free
 * addresses and records them. The allocations, their `ipam.allocated` events and their audit
 * entries commit together. A request the plan refuses gets its error; the others go on.
 */
export async function serveAllocations(
  ctx: IpamContext,
  tx: Tx,
  poolName: string,
  batch: readonly PendingAllocation[],
): Promise<AllocationOutcome[]> {
  const pool = await loadPool(tx, poolName);
  await lockSegment(tx, pool.segment);
  const outcomes: (AllocationOutcome | undefined)[] = new Array(batch.length).fill(undefined);
  const requestIds = [...new Set(batch.flatMap((p) => (p.input.requestId ? [p.input.requestId] : [])))];
  const earlier =
    requestIds.length > 0 ? await findByRequests(tx, requestIds) : new Map<string, Allocation[]>();
  const now = ctx.clock.now().getTime();
  const heldUntilOf = (input: AllocateInput) =>
    new Date(now + (input.ttlSeconds ?? ctx.config.IPAM_DEFAULT_HOLD_SECONDS) * 1000);

  const served = new Map<number, Allocation[]>();
  const firstWithId = new Map<string, number>();
  const repeats: [number, number][] = [];
  const chosen = new Set<Ipv4>();
  const singles: number[] = [];
  for (const [i, { input }] of batch.entries()) {
    if (input.requestId) {
      const before = earlier.get(input.requestId);
      if (before && before.length > 0) {
        outcomes[i] = { ok: { pool, items: before, created: false } };
        continue;
      }
      const first = firstWithId.get(input.requestId);
      if (first !== undefined) {
        repeats.push([i, first]);
        continue;
      }
      firstWithId.set(input.requestId, i);
    }
    const request = requestOf(input);
    if (request.kind === 'next' && request.count === 1) {
      singles.push(i);
      continue;
    }
    try {
      const taken = await takenFor(tx, pool, request);
      for (const ip of chosen) taken.add(ip);
      const ips = planAllocation(pool, request, taken);
      for (const ip of ips) chosen.add(ip);
      const items = await insertAllocations(tx, pool, ips, {
        owner: input.owner,
        heldUntil: heldUntilOf(input),
        requestId: input.requestId ?? null,
      });
      if (items.length < ips.length) {
        const got = new Set(items.map((a) => a.ip));
        const lost = ips.find((ip) => !got.has(formatIpv4(ip)))!;
        // Rolls back what this request inserted with the others of its block.
        throw new AddressConflictError(
          lost,
          `${formatIpv4(lost)} was allocated by another request meanwhile`,
        );
      }
      served.set(i, items);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error; // a fault, not a refusal: the batch fails
      outcomes[i] = { error };
    }
  }
  // Each round serves the first of the waiting requests; a shortfall is the range's end or an
  // address a lock-free writer (another replica's statement) took meanwhile, which the next round
  // (a new snapshot) sees. Only a round that took nothing while the range has no free address
  // left ends it: under two replicas' load, three rounds could all lose and refuse a pool with room.
  let waiting = singles;
  for (let round = 0; waiting.length > 0 && round < MAX_NEXT_ROUNDS; round++) {
    const reserved = [...reservedAddresses(pool), ...chosen];
    const taken = await insertNextFree(
      tx,
      pool,
      reserved,
      waiting.map((i) => ({
        owner: batch[i]!.input.owner,
        heldUntil: heldUntilOf(batch[i]!.input),
        requestId: batch[i]!.input.requestId ?? null,
      })),
    );
    waiting.slice(0, taken.length).forEach((i, k) => served.set(i, [taken[k]!]));
    waiting = waiting.slice(taken.length);
    if (
      taken.length === 0 &&
      (await firstFreeAddress(tx, pool.segment, pool.rangeStart, pool.rangeEnd, reserved)) === undefined
    )
      break;
  }
  for (const i of waiting)
    outcomes[i] = { error: new AddressConflictError(null, `pool '${pool.name}' has no free address`) };

  const order = [...served.keys()].sort((a, b) => a - b);
  await enqueueEvents(
    tx,
    order.map((i) => {
      const { input, traceHeaders } = batch[i]!;
      const items = served.get(i)!;
      return {
        source: ctx.source,
        topic: IPAM_EVENTS,
        key: pool.name,
        type: ipamEventTypes.allocated,
        subject: pool.name,
        traceHeaders,
        data: {
          requestId: input.requestId ?? null,
          pool: pool.name,
          owner: input.owner,
          items: items.map((a) => ({
            ip: a.ip,
            state: a.state,
            heldUntil: a.heldUntil?.toISOString() ?? null,
          })),
        },
      };
    }),
  );
  // Requests made over HTTP are on record with the change; bus commands are the platform's own.
  await recordAudits(
    tx,
    order
      .filter((i) => batch[i]!.audit.request !== undefined)
      .map((i) => {
        const ips = served.get(i)!.map((a) => a.ip);
        return { capture: batch[i]!.audit, facts: { targetId: ips[0]!, details: { pool: pool.name, ips } } };
      }),
  );
  for (const i of order) outcomes[i] = { ok: { pool, items: served.get(i)!, created: true } };
  for (const [i, first] of repeats) {
    const answer = outcomes[first]!;
    outcomes[i] = 'ok' in answer ? { ok: { ...answer.ok, created: false } } : answer;
  }
  return outcomes.map((o) => o!);
}

const combiners = new WeakMap<IpamContext, Combiner<PendingAllocation, AllocateResult>>();

/**
 * Pools that share a segment are combined apart, so a locked transaction of one can deadlock with
 * the lock-free statement of another: it inserted a block, then waits on the lowest free address
 * the statement inserted; the statement waits on an address of that block. Postgres aborts one
 * (kit's isWriteConflict), which rolled back all it did.
 */
const WRITE_CONFLICT_ATTEMPTS = 4;

async function retryWriteConflicts<T>(
  batch: readonly PendingAllocation[],
  attempt: () => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    // What a rolled-back attempt put on record is not: the audit entries are written again.
    for (const { audit } of batch) if (audit.request) audit.request.recorded = false;
    try {
      return await attempt();
    } catch (error) {
      if (!isWriteConflict(error) || n >= WRITE_CONFLICT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * n * Math.random()));
    }
  }
}

const isOneNext = (input: AllocateInput) =>
  !input.ip && !input.start && input.count === 1 && !input.requestId;

/**
 * Serves a combined batch: the requests for one next address (the commonest, and the ones a
 * replay id does not guard) by the one lock-free statement of next-addresses-statement.ts when
 * the pool is known, everything else, and whatever that statement could not serve, in one
 * transaction under the segment's lock.
 */
async function serveCombined(
  ctx: IpamContext,
  known: Map<string, Pool>,
  poolName: string,
  batch: readonly PendingAllocation[],
): Promise<AllocationOutcome[]> {
  const outcomes: (AllocationOutcome | undefined)[] = new Array(batch.length).fill(undefined);
  const pool = known.get(poolName);
  if (pool) {
    const fast = [...batch.keys()].filter((i) => isOneNext(batch[i]!.input));
    const now = ctx.clock.now();
    const requests = fast.map((i) => {
      const { input, audit, traceHeaders } = batch[i]!;
      return {
        owner: input.owner,
        heldUntil: new Date(
          now.getTime() + (input.ttlSeconds ?? ctx.config.IPAM_DEFAULT_HOLD_SECONDS) * 1000,
        ),
        eventId: randomUUID(),
        traceHeaders,
        ...(audit.request ? { audit: auditEntryOf({}, audit.request, audit.traceId) } : {}),
      };
    });
    // Postgres ends the statement in a deadlock with a locked transaction of another pool on the
    // segment (see WRITE_CONFLICT_ATTEMPTS): it wrote nothing, and its requests go the locked way.
    const taken = await takeNextAddresses(ctx.db.prisma, pool, [...reservedAddresses(pool)], requests, {
      source: ctx.source,
      topic: IPAM_EVENTS,
      type: ipamEventTypes.allocated,
      time: now,
    }).catch((error: unknown) => {
      if (isWriteConflict(error)) return [];
      throw error;
    });
    for (const t of taken) {
      const i = fast[t.index]!;
      const request = requests[t.index]!;
      const { audit } = batch[i]!;
      if (audit.request) audit.request.recorded = true;
      outcomes[i] = {
        ok: {
          pool,
          created: true,
          items: [
            {
              ip: t.ip,
              pool: pool.name,
              segment: pool.segment,
              state: 'held',
              owner: request.owner,
              heldUntil: request.heldUntil,
              containerId: null,
              requestId: null,
              createdAt: t.createdAt,
            },
          ],
        },
      };
    }
  }
  const rest = [...batch.keys()].filter((i) => outcomes[i] === undefined);
  if (rest.length > 0) {
    const pending = rest.map((i) => batch[i]!);
    const served = await retryWriteConflicts(pending, () =>
      ctx.db.prisma.$transaction((tx) => serveAllocations(ctx, tx, poolName, pending)),
    );
    rest.forEach((i, k) => (outcomes[i] = served[k]!));
    // Pools never change once made (there is no update), so a pool seen is a pool known; the
    // statement checks the definition anyway and serves nothing should it differ.
    const seen = served.find((o): o is { ok: AllocateResult } => 'ok' in o);
    if (seen) known.set(poolName, seen.ok.pool);
  }
  return outcomes.map((o) => o!);
}

/** One combiner per service instance: requests for a pool are combined within one process. */
function combinerOf(ctx: IpamContext): Combiner<PendingAllocation, AllocateResult> {
  let combiner = combiners.get(ctx);
  if (!combiner) {
    const known = new Map<string, Pool>();
    combiner = new Combiner((pool, batch) => serveCombined(ctx, known, pool, batch));
    combiners.set(ctx, combiner);
  }
  return combiner;
}

/**
 * Holds addresses of a pool: the next free one, a given one, or a contiguous block. Decided under
 * the segment's lock, written with the `ipam.allocated` event in the same transaction. In a
 * caller's transaction (a bus handler's) it is served there; otherwise concurrent requests for
 * the pool are combined into one transaction (see allocation-combiner.ts).
 */
export async function allocate(ctx: IpamContext, input: AllocateInput, outer?: Tx): Promise<AllocateResult> {
  const pending = pendingAllocation(input);
  if (!outer) return combinerOf(ctx).submit(input.pool, pending);
  const [outcome] = await inTransaction(ctx, outer, (tx) => serveAllocations(ctx, tx, input.pool, [pending]));
  if ('error' in outcome!) throw outcome.error;
  return outcome!.ok;
}
