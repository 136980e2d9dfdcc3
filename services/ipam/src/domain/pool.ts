import { InvalidError, type FieldProblem } from '@testbed/kit';
import { cidrContains, formatCidr, parseCidr, parseIpv4, type Cidr, type Ipv4 } from '@testbed/kit';

/** A pool as stored: addresses as numbers, validated once when the pool is defined. */
export interface Pool {
  name: string;
  cidr: Cidr;
  rangeStart: Ipv4;
  rangeEnd: Ipv4;
  gateway: Ipv4 | null;
  exclude: Ipv4[];
  segment: string;
}

export interface PoolDefinition {
  name: string;
  cidr: string;
  rangeStart: string;
  rangeEnd: string;
  gateway?: string | null;
  exclude?: string[];
  segment: string;
}

/** Checks a definition and answers every problem at once, each naming its field. */
export function definePool(def: PoolDefinition): Pool {
  const problems: FieldProblem[] = [];
  const bad = (path: string, message: string) => problems.push({ path: `body.${path}`, message });
  const cidr = parseCidr(def.cidr);
  if (!cidr) bad('cidr', `'${def.cidr}' is not an IPv4 CIDR with its network address (e.g. 10.64.98.0/23)`);
  const address = (field: string, text: string): Ipv4 | undefined => {
    const ip = parseIpv4(text);
    if (ip === undefined) bad(field, `'${text}' is not an IPv4 address`);
    else if (cidr && !cidrContains(cidr, ip)) bad(field, `${text} is outside ${formatCidr(cidr)}`);
    return ip;
  };
  const rangeStart = address('rangeStart', def.rangeStart);
  const rangeEnd = address('rangeEnd', def.rangeEnd);
  if (rangeStart !== undefined && rangeEnd !== undefined && rangeStart > rangeEnd) {
    bad('rangeEnd', `range end ${def.rangeEnd} is before range start ${def.rangeStart}`);
  }
  const gateway = def.gateway ? address('gateway', def.gateway) : null;
  const exclude = (def.exclude ?? []).map((text, i) => address(`exclude.${i}`, text));
  if (problems.length > 0 || !cidr || rangeStart === undefined || rangeEnd === undefined) {
    throw new InvalidError(problems);
  }
  return {
    name: def.name,
    cidr,
    rangeStart,
    rangeEnd,
    gateway: gateway ?? null,
    exclude: [...new Set(exclude as Ipv4[])].sort((a, b) => a - b),
    segment: def.segment,
  };
}

/** Addresses of the range that are never handed out: network, broadcast, gateway, exclusions. */
export function reservedAddresses(pool: Pool): Set<Ipv4> {
  const reserved = new Set<Ipv4>([pool.cidr.network, pool.cidr.broadcast, ...pool.exclude]);
  if (pool.gateway !== null) reserved.add(pool.gateway);
  return reserved;
}

export function isAssignable(pool: Pool, ip: Ipv4): boolean {
  return ip >= pool.rangeStart && ip <= pool.rangeEnd && !reservedAddresses(pool).has(ip);
}

/** How many addresses the pool can hand out. */
export function poolSize(pool: Pool): number {
  let reservedInRange = 0;
  for (const ip of reservedAddresses(pool))
    if (ip >= pool.rangeStart && ip <= pool.rangeEnd) reservedInRange++;
  return pool.rangeEnd - pool.rangeStart + 1 - reservedInRange;
}
