import path from 'node:path';
import type { ContainerCounters, CounterReader } from './counters';
import { openReaderFiles } from './reader-files';
import {
  cfsQuotaUsec,
  keyedUint,
  limitBytes,
  millicores,
  singleUint,
  statKey,
  usecOfNanoseconds,
} from './parse';

/** A container's folder in each cgroup v1 controller it is read from. */
export interface V1Folders {
  cpuacct: string;
  memory: string;
  pids: string;
  /** The CFS quota's controller; absent when the host does not mount it. */
  cpu?: string;
}

// memory.stat of v1 has `inactive_file` (this cgroup alone) and `total_inactive_file` (with its
// children): a container's processes may sit in child cgroups, so the total is the one.
const TOTAL_INACTIVE_FILE = statKey('total_inactive_file');

/**
 * cgroup v1: `cpuacct.usage` (ns), `memory.usage_in_bytes`, `memory.stat`,
 * `memory.limit_in_bytes`, `pids.current`, `cpu.cfs_quota_us` / `cpu.cfs_period_us`, and the
 * process's `/proc/<pid>/net/dev` (undefined for a container on the host's network, whose
 * interfaces are not its own). Every file is opened here, once.
 */
export function openV1Reader(folders: V1Folders, netDevPath: string | undefined): CounterReader {
  const opened = openReaderFiles(
    {
      cpu: path.join(folders.cpuacct, 'cpuacct.usage'),
      usage: path.join(folders.memory, 'memory.usage_in_bytes'),
      stat: path.join(folders.memory, 'memory.stat'),
      limit: path.join(folders.memory, 'memory.limit_in_bytes'),
      pids: path.join(folders.pids, 'pids.current'),
    },
    {
      quota: folders.cpu && path.join(folders.cpu, 'cpu.cfs_quota_us'),
      period: folders.cpu && path.join(folders.cpu, 'cpu.cfs_period_us'),
    },
    netDevPath,
  );
  const files = opened.required;
  const { quota, period } = opened.optional;

  return {
    source: 'cgroup-v1',
    read(): ContainerCounters {
      const cpuUsec = usecOfNanoseconds(files.cpu.read(), files.cpu.path);
      const memoryUsageBytes = singleUint(files.usage.read(), files.usage.path);
      const memoryInactiveFileBytes = keyedUint(files.stat.read(), TOTAL_INACTIVE_FILE, files.stat.path);
      const memoryLimitBytes = limitBytes(files.limit.read(), files.limit.path);
      const pids = singleUint(files.pids.read(), files.pids.path);
      let cpuLimitMillis: number | null = null;
      if (quota && period) {
        const quotaUsec = cfsQuotaUsec(quota.read(), quota.path);
        cpuLimitMillis = millicores(quotaUsec, singleUint(period.read(), period.path));
      }
      return {
        cpuUsec,
        memoryUsageBytes,
        memoryInactiveFileBytes,
        memoryLimitBytes,
        cpuLimitMillis,
        pids,
        interfaces: opened.interfaces(),
      };
    },
    close: opened.close,
  };
}
