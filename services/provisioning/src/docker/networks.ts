import { networkCreateOptions, type NetworkSpec } from './container-spec';
import type { Daemon } from './daemon';
import { isNotFound } from './deadline';
import { inspectContainer } from './container-lifecycle';

/** A node's Docker networks: the experiment and secondary ones, and containers' endpoints on them. */

export type { NetworkSpec } from './container-spec';

/**
 * The node's network for `spec`: an existing macvlan network on the parent link is reused
 * whatever its name (a daemon allows one per parent link), otherwise it is created.
 */
export async function ensureNetwork(d: Daemon, spec: NetworkSpec): Promise<string> {
  const find = async (): Promise<string | undefined> => {
    const nets = await d.call('list networks', () => d.docker.listNetworks());
    if (spec.parent) {
      const onParent = nets.find((n) => n.Driver === 'macvlan' && n.Options?.parent === spec.parent);
      if (onParent) return onParent.Name;
    }
    return nets.find((n) => n.Name === spec.name)?.Name;
  };
  const existing = await find();
  if (existing) return existing;
  try {
    await d.call('create network', () => d.docker.createNetwork(networkCreateOptions(spec)));
  } catch (err) {
    // Another replica or test created it meanwhile.
    const raced = await find();
    if (raced) return raced;
    throw err;
  }
  return spec.name;
}

export async function removeNetwork(d: Daemon, name: string): Promise<void> {
  try {
    await d.call('remove network', () => d.docker.getNetwork(name).remove());
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function connect(
  d: Daemon,
  network: string,
  dockerId: string,
  ip: string,
): Promise<string | null> {
  await d.call('connect network', () =>
    d.docker.getNetwork(network).connect({
      Container: dockerId,
      EndpointConfig: { IPAMConfig: { IPv4Address: ip } },
    }),
  );
  const info = await inspectContainer(d, dockerId);
  return info?.NetworkSettings?.Networks?.[network]?.MacAddress ?? null;
}

/** Disconnects the container; one not connected (or gone) counts as disconnected. */
export async function disconnect(d: Daemon, network: string, dockerId: string): Promise<void> {
  try {
    await d.call('disconnect network', () =>
      d.docker.getNetwork(network).disconnect({ Container: dockerId, Force: true }),
    );
  } catch (err) {
    if (!isNotFound(err) && !/is not connected/i.test(String((err as Error).message))) throw err;
  }
}

/** The container's endpoint on `network` (address and MAC), when connected. */
export async function endpointOn(
  d: Daemon,
  dockerId: string,
  network: string,
): Promise<{ ip: string; mac: string } | undefined> {
  const net = (await inspectContainer(d, dockerId))?.NetworkSettings?.Networks?.[network];
  return net ? { ip: net.IPAMConfig?.IPv4Address || net.IPAddress, mac: net.MacAddress } : undefined;
}
