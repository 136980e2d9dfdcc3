import type Docker from 'dockerode';
import { shortId } from '../wire/sample-batch';

/** The platform's label of the containers it made: their id in the platform's API. */
export const PLATFORM_ID_LABEL = 'testbed.container-id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A running container as the agent samples it, from Docker's inspect. */
export interface DiscoveredContainer {
  /** Docker's full id (64 hex digits). */
  id: string;
  /** Docker's short id: the batches' `ref`. */
  ref: string;
  name: string;
  image: string;
  platformId?: string;
  startedAt?: string;
  /** The init process on the node: its /proc/<pid>/cgroup names the cgroup folders. */
  pid: number;
  /** HostConfig.CgroupParent ('' for the daemon's own parent). */
  cgroupParent: string;
  /** `--network host`: no interfaces of its own. */
  hostNetwork: boolean;
  /** Limits as Docker set them (for the docker-stats fallback, which cannot read the cgroup). */
  memoryLimitBytes: number | null;
  cpuLimitMillis: number | null;
}

function cpuLimitMillisOf(hc: Docker.HostConfig | undefined): number | null {
  if (!hc) return null;
  if (hc.NanoCpus && hc.NanoCpus > 0) return Math.round(hc.NanoCpus / 1e6);
  if (hc.CpuQuota && hc.CpuQuota > 0) return Math.round((hc.CpuQuota * 1000) / (hc.CpuPeriod || 100_000));
  return null;
}

function isoOrUndefined(t: string | undefined): string | undefined {
  if (!t || t.startsWith('0001-')) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The inspect answer as the agent keeps it; undefined unless the container runs (paused counts). */
export function discoveredOf(info: Docker.ContainerInspectInfo): DiscoveredContainer | undefined {
  const state = info.State;
  if (!state?.Running || !state.Pid) return undefined;
  const label = info.Config?.Labels?.[PLATFORM_ID_LABEL];
  return {
    id: info.Id,
    ref: shortId(info.Id),
    name: (info.Name ?? '').replace(/^\//, '').slice(0, 256),
    image: (info.Config?.Image ?? info.Image ?? '').slice(0, 512),
    ...(label && UUID.test(label) ? { platformId: label.toLowerCase() } : {}),
    ...(isoOrUndefined(state.StartedAt) ? { startedAt: isoOrUndefined(state.StartedAt) } : {}),
    pid: state.Pid,
    cgroupParent: info.HostConfig?.CgroupParent ?? '',
    hostNetwork: info.HostConfig?.NetworkMode === 'host',
    memoryLimitBytes: info.HostConfig?.Memory && info.HostConfig.Memory > 0 ? info.HostConfig.Memory : null,
    cpuLimitMillis: cpuLimitMillisOf(info.HostConfig),
  };
}
