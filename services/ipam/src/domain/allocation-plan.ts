import { ConflictError, InvalidError } from '@testbed/kit';
import { formatIpv4, type Ipv4 } from '@testbed/kit';
import { isAssignable, poolSize, reservedAddresses, type Pool } from './pool';

export type AllocationRequest =
  | { kind: 'next'; count: number }
  | { kind: 'block'; start: Ipv4; count: number }
  | { kind: 'address'; ip: Ipv4 };

/** The address in the way of a request, answered as a 409 that names it. */
export class AddressConflictError extends ConflictError {
  constructor(
    readonly firstConflict: Ipv4 | null,
    detail: string,
  ) {
    super(
      detail,
      firstConflict === null ? {} : { firstConflict: formatIpv4(firstConflict) },
      'address-conflict',
    );
  }
}

/**
 * Chooses the addresses for a request given those already taken on the pool's segment.
 * Pure: the store calls it inside the transaction that holds the segment's lock.
 */
export function planAllocation(pool: Pool, request: AllocationRequest, taken: ReadonlySet<Ipv4>): Ipv4[] {
  switch (request.kind) {
    case 'address':
      return [planAddress(pool, request.ip, taken)];
    case 'block':
      return planBlock(pool, request.start, request.count, taken);
    case 'next':
      return planNext(pool, request.count, taken);
  }
}

function checkCount(pool: Pool, count: number): void {
  const size = poolSize(pool);
  if (count > size)
    throw InvalidError.field('body.count', `${count} is more than pool '${pool.name}' holds (${size})`);
}

function planAddress(pool: Pool, ip: Ipv4, taken: ReadonlySet<Ipv4>): Ipv4 {
  if (ip < pool.rangeStart || ip > pool.rangeEnd) {
    throw InvalidError.field(
      'body.ip',
      `${formatIpv4(ip)} is outside pool '${pool.name}' (${rangeText(pool)})`,
    );
  }
  if (reservedAddresses(pool).has(ip)) {
    throw InvalidError.field(
      'body.ip',
      `${formatIpv4(ip)} is reserved in pool '${pool.name}' (network, broadcast, gateway or excluded)`,
    );
  }
  if (taken.has(ip)) throw new AddressConflictError(ip, `${formatIpv4(ip)} is already allocated`);
  return ip;
}

/** Exactly start..start+count-1: a batch's addresses are contiguous, nothing skipped silently. */
function planBlock(pool: Pool, start: Ipv4, count: number, taken: ReadonlySet<Ipv4>): Ipv4[] {
  checkCount(pool, count);
  const end = start + count - 1;
  if (start < pool.rangeStart || start > pool.rangeEnd) {
    throw InvalidError.field(
      'body.start',
      `${formatIpv4(start)} is outside pool '${pool.name}' (${rangeText(pool)})`,
    );
  }
  if (end > pool.rangeEnd) {
    throw new AddressConflictError(
      null,
      `a block of ${count} from ${formatIpv4(start)} ends at ${formatIpv4(end)}, past the pool's end ${formatIpv4(pool.rangeEnd)}`,
    );
  }
  const block: Ipv4[] = [];
  for (let ip = start; ip <= end; ip++) {
    if (!isAssignable(pool, ip)) {
      throw new AddressConflictError(
        ip,
        `${formatIpv4(ip)} is reserved (gateway or excluded) and lies in the block`,
      );
    }
    if (taken.has(ip))
      throw new AddressConflictError(ip, `${formatIpv4(ip)} is already allocated and lies in the block`);
    block.push(ip);
  }
  return block;
}

/** The lowest run of `count` free, contiguous addresses (one address when count is 1). */
function planNext(pool: Pool, count: number, taken: ReadonlySet<Ipv4>): Ipv4[] {
  checkCount(pool, count);
  let runStart = pool.rangeStart;
  for (let ip = pool.rangeStart; ip <= pool.rangeEnd; ip++) {
    if (!isAssignable(pool, ip) || taken.has(ip)) {
      runStart = ip + 1;
      continue;
    }
    if (ip - runStart + 1 === count) return Array.from({ length: count }, (_, i) => runStart + i);
  }
  throw new AddressConflictError(
    null,
    count === 1
      ? `pool '${pool.name}' has no free address`
      : `pool '${pool.name}' has no ${count} contiguous free addresses`,
  );
}

function rangeText(pool: Pool): string {
  return `${formatIpv4(pool.rangeStart)}-${formatIpv4(pool.rangeEnd)}`;
}
