import { ConflictError, NotFoundError, type Tx } from '@testbed/kit';
import { definePool, poolSize, type Pool, type PoolDefinition } from '../domain/pool';
import { countUsed } from '../store/allocation-store';
import { findPool, insertPool, listPools, toRow } from '../store/pool-store';
import type { IpamConfig } from '../config';
import type { IpamContext } from './context';

export type PoolView = ReturnType<typeof toRow> & { size: number; used: number; free: number };

async function viewOf(tx: Tx, pool: Pool): Promise<PoolView> {
  const size = poolSize(pool);
  const used = await countUsed(tx, pool);
  return { ...toRow(pool), size, used, free: size - used };
}

export async function createPool(ctx: IpamContext, def: PoolDefinition): Promise<PoolView> {
  const pool = definePool(def);
  return ctx.db.prisma.$transaction(async (tx) => {
    if (!(await insertPool(tx, pool)))
      throw new ConflictError(`pool '${pool.name}' already exists`, { pool: pool.name });
    return viewOf(tx, pool);
  });
}

export async function getPool(ctx: IpamContext, name: string): Promise<PoolView> {
  return ctx.db.prisma.$transaction(async (tx) => {
    const pool = await findPool(tx, name);
    if (!pool) throw new NotFoundError('pool', name);
    return viewOf(tx, pool);
  });
}

export async function listPoolViews(
  ctx: IpamContext,
  after: string | undefined,
  limit: number,
): Promise<PoolView[]> {
  return ctx.db.prisma.$transaction(async (tx) => {
    const pools = await listPools(tx, after, limit);
    return Promise.all(pools.map((p) => viewOf(tx, p)));
  });
}

/** The original testbed's two pools, created at start when missing (an operator's edits stay). */
export function seedDefinitions(config: IpamConfig): PoolDefinition[] {
  const split = (range: string) => range.split('-') as [string, string];
  const [expStart, expEnd] = split(config.IPAM_EXPERIMENT_RANGE);
  const [secStart, secEnd] = split(config.IPAM_SECONDARY_RANGE);
  return [
    {
      name: 'experiment',
      cidr: config.IPAM_EXPERIMENT_CIDR,
      rangeStart: expStart,
      rangeEnd: expEnd,
      gateway: config.IPAM_EXPERIMENT_GATEWAY,
      segment: config.IPAM_EXPERIMENT_SEGMENT,
    },
    {
      name: 'secondary',
      cidr: config.IPAM_SECONDARY_CIDR,
      rangeStart: secStart,
      rangeEnd: secEnd,
      gateway: config.IPAM_SECONDARY_GATEWAY,
      segment: config.IPAM_SECONDARY_SEGMENT,
    },
  ];
}

export async function seedPools(ctx: IpamContext): Promise<string[]> {
  const pools = seedDefinitions(ctx.config).map(definePool);
  const created: string[] = [];
  await ctx.db.prisma.$transaction(async (tx) => {
    for (const pool of pools) if (await insertPool(tx, pool)) created.push(pool.name);
  });
  return created;
}

/** Used fraction per pool, for the utilisation gauge. */
export async function utilisation(ctx: IpamContext): Promise<{ pool: string; used: number; size: number }[]> {
  const views = await listPoolViews(ctx, undefined, 500);
  return views.map((v) => ({ pool: v.name, used: v.used, size: v.size }));
}
