import type { ContainerCounters } from '../cgroup/counters';
import type { DiscoveredContainer } from '../docker/discovered-container';
import type { DockerStatsAnswer } from '../docker/docker-api';

/** A counter as the wire takes it: a whole number from 0 to 2^53 - 1 (anything else reads as 0). */
function count(v: number | undefined): number {
  return v !== undefined && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/**
 * Docker's one-shot stats as the same counters the cgroup readers give: CPU in µs (Docker says
 * ns on v1 and v2 alike), usage and inactive file cache (`total_inactive_file` from a v1
 * daemon, `inactive_file` from a v2 one), pids, interfaces without the loopback. The limits come
 * from the container's inspect: the stats' own memory limit is the machine's memory when none is set.
 */
export function countersOfDockerStats(s: DockerStatsAnswer, c: DiscoveredContainer): ContainerCounters {
  const stats = s.memory_stats?.stats ?? {};
  return {
    cpuUsec: Math.floor(count(s.cpu_stats?.cpu_usage?.total_usage) / 1000),
    memoryUsageBytes: count(s.memory_stats?.usage),
    memoryInactiveFileBytes: count(stats.total_inactive_file ?? stats.inactive_file),
    memoryLimitBytes: c.memoryLimitBytes,
    cpuLimitMillis: c.cpuLimitMillis,
    pids: count(s.pids_stats?.current),
    interfaces: Object.entries(s.networks ?? {})
      .filter(([name]) => name !== 'lo')
      .map(([name, n]) => ({
        name,
        rxBytes: count(n.rx_bytes),
        rxPackets: count(n.rx_packets),
        txBytes: count(n.tx_bytes),
        txPackets: count(n.tx_packets),
      })),
  };
}
