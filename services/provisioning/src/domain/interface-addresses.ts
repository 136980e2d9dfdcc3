import { cidrContains, parseCidr, parseIpv4 } from '@testbed/kit';
import type { PoolNetwork } from '../config';

/** The second interface: its name, and which addresses it holds as its record changes. */
export const IFNAME = 'eth1';

export interface HeldAddress {
  pool: string;
  ip: string;
}

/** The pool among those the interface may use whose subnet holds `ip`. */
export function poolHolding(
  networks: Record<string, PoolNetwork>,
  candidates: string[],
  ip: string,
): string | undefined {
  const address = parseIpv4(ip);
  return candidates.find((p) => {
    const cidr = networks[p] && parseCidr(networks[p].subnet);
    return cidr && address !== undefined && cidrContains(cidr, address);
  });
}

/**
 * What an interface holds: the address it has, and Docker's endpoint address when that differs (an
 * address set inside the container, out of the network's subnet, leaves Docker's reserved).
 */
export function addressesHeld(
  c: { secondaryIp: string | null; secondaryPool: string | null; secondaryEndpointIp: string | null },
  endpointPool: string,
): HeldAddress[] {
  if (!c.secondaryIp || !c.secondaryPool) return [];
  const held = [{ pool: c.secondaryPool, ip: c.secondaryIp }];
  if (c.secondaryEndpointIp && c.secondaryEndpointIp !== c.secondaryIp)
    held.push({ pool: endpointPool, ip: c.secondaryEndpointIp });
  return held;
}

/** What a change of the record takes (to bind) and gives back (to release). */
export function addressChange(before: HeldAddress[], after: HeldAddress[]) {
  return {
    released: before.filter((b) => !after.some((a) => a.ip === b.ip)),
    added: after.filter((a) => !before.some((b) => b.ip === a.ip)),
  };
}
