import { NotFoundError, type Tx, recordAudit } from '@testbed/kit';
import {
  effectiveLimits,
  LIMIT_NAMES,
  type LimitName,
  type LimitOverrides,
  type Limits,
} from '../domain/limits';
import { usageOf } from '../store/usage-store';
import { countLiveReservations } from '../store/reservation-store';
import {
  findUser,
  insertUserIfMissing,
  saveOverrides,
  type UserOrigin,
  type UserRecord,
} from '../store/user-store';
import { defaultLimits, transaction, type QuotaContext } from './context';
import type { LimitUse, UsageView } from './usage-view';

export type { LimitUse, UsageView };

export interface QuotaView extends Limits {
  user: string;
  /** The limits set for this user; the others follow the configured defaults. */
  overridden: LimitName[];
}

function quotaView(ctx: QuotaContext, user: UserRecord): QuotaView {
  return {
    user: user.name,
    ...effectiveLimits(defaultLimits(ctx.config), user.overrides),
    overridden: LIMIT_NAMES.filter((n) => user.overrides[n] !== null && user.overrides[n] !== undefined),
  };
}

/** A user seen for the first time (on a token, in an admission request) becomes known. */
export async function seeUser(ctx: QuotaContext, name: string, via: UserOrigin, outer?: Tx): Promise<void> {
  if (outer) await insertUserIfMissing(outer, name, via);
  else await transaction(ctx, (tx) => insertUserIfMissing(tx, name, via));
}

export async function requireUser(tx: Tx, name: string): Promise<UserRecord> {
  const user = await findUser(tx, name);
  if (!user) throw new NotFoundError('user', name);
  return user;
}

export async function userLimits(ctx: QuotaContext, tx: Tx, name: string): Promise<Limits> {
  const user = await findUser(tx, name);
  return effectiveLimits(defaultLimits(ctx.config), user?.overrides ?? {});
}

export async function getQuota(ctx: QuotaContext, name: string): Promise<QuotaView> {
  return transaction(ctx, async (tx) => quotaView(ctx, await requireUser(tx, name)));
}

/** Replaces the user's limits (absent or null: the default); creates the user when unknown. */
export async function setQuota(
  ctx: QuotaContext,
  name: string,
  overrides: LimitOverrides,
): Promise<{ quota: QuotaView; created: boolean }> {
  return transaction(ctx, async (tx) => {
    const created = !(await findUser(tx, name));
    const quota = quotaView(ctx, await saveOverrides(tx, name, overrides));
    await recordAudit(tx, { details: { limits: { ...overrides }, created } });
    return { quota, created };
  });
}

export async function getUsage(ctx: QuotaContext, name: string): Promise<UsageView> {
  return transaction(ctx, async (tx) => {
    const user = await requireUser(tx, name);
    const limits = effectiveLimits(defaultLimits(ctx.config), user.overrides);
    const now = ctx.clock.now();
    const { running, held } = await usageOf(tx, name, now);
    const use = (limit: number, inUse: number, h: number): LimitUse => ({
      limit,
      inUse,
      held: h,
      available: Math.max(0, limit - inUse - h),
    });
    return {
      user: name,
      containers: use(limits.maxContainers, running.containers, held.containers),
      cpuMillis: use(limits.maxCpuMillis, running.cpuMillis, held.cpuMillis),
      memoryBytes: use(limits.maxMemoryBytes, running.memoryBytes, held.memoryBytes),
      addresses: use(limits.maxAddresses, running.addresses, held.addresses),
      reservations: {
        limit: limits.maxConcurrentReservations,
        ...(await countLiveReservations(tx, name, now)),
      },
    };
  });
}
