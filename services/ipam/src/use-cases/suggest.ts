import { formatIpv4, parseIpv4, type Ipv4 } from '@testbed/kit';
import { planAllocation, type AllocationRequest } from '../domain/allocation-plan';
import { loadPool, narrowed, takenFor } from './allocate';
import type { IpamContext } from './context';

export interface SuggestInput {
  pool: string;
  count: number;
  /** First address of the block the caller has in mind; without it the lowest free run. */
  start?: string;
}

/**
 * The addresses an allocation of the same shape would get now, without holding them: what a form
 * proposes before the user submits. Planned by the same rule as `allocate`, so a suggestion is
 * exactly what allocating would give unless someone takes an address in between (the allocation
 * then answers its 409 as usual).
 */
export async function suggestAddresses(ctx: IpamContext, input: SuggestInput): Promise<string[]> {
  return ctx.db.prisma.$transaction(async (tx) => {
    const pool = await loadPool(tx, input.pool);
    const base: AllocationRequest = input.start
      ? { kind: 'block', start: parseIpv4(input.start) as Ipv4, count: input.count }
      : { kind: 'next', count: input.count };
    const request = await narrowed(tx, pool, base);
    return planAllocation(pool, request, await takenFor(tx, pool, request)).map(formatIpv4);
  });
}
