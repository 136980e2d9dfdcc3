import path from 'node:path';
import type { InterfaceCounters } from '../wire/sample-batch';
import type { ContainerCounters, CounterReader } from './counters';
import { KeptOpenFile, openAll, openIfPresent } from './kept-open-file';
import { parseNetDev } from './net-dev';
import { cpuMaxMillis, keyedUint, limitBytes, singleUint, statKey } from './parse';

const USAGE_USEC = statKey('usage_usec');
// v2 counts a cgroup with its children everywhere: plain inactive_file is the whole container.
const INACTIVE_FILE = statKey('inactive_file');

/** `usage_usec` of a cgroup v2 `cpu.stat`: the kernel keeps it for every cgroup, controllers or not. */
export function cpuStatUsec(buf: Buffer, what: string): number {
  return keyedUint(buf, USAGE_USEC, what);
}

/**
 * cgroup v2 (Documentation/admin-guide/cgroup-v2.rst), one folder per cgroup: `cpu.stat`
 * (`usage_usec`), `memory.current`, `memory.stat` (`inactive_file`), `memory.max` (`max` or
 * bytes), `pids.current`, `cpu.max` (`max 100000` or `quota period`; absent without the cpu
 * controller), and the process's `/proc/<pid>/net/dev`. Every file is opened here, once.
 */
export function openV2Reader(folder: string, netDevPath: string | undefined): CounterReader {
  const files = openAll({
    cpu: path.join(folder, 'cpu.stat'),
    usage: path.join(folder, 'memory.current'),
    stat: path.join(folder, 'memory.stat'),
    pids: path.join(folder, 'pids.current'),
  });
  const optional: KeptOpenFile[] = [];
  let memoryMax: KeptOpenFile | undefined;
  let cpuMax: KeptOpenFile | undefined;
  let netDev: KeptOpenFile | undefined;
  try {
    memoryMax = openIfPresent(path.join(folder, 'memory.max'));
    if (memoryMax) optional.push(memoryMax);
    cpuMax = openIfPresent(path.join(folder, 'cpu.max'));
    if (cpuMax) optional.push(cpuMax);
    netDev = netDevPath ? new KeptOpenFile(netDevPath) : undefined;
    if (netDev) optional.push(netDev);
  } catch (err) {
    for (const f of [...Object.values(files), ...optional]) f.close();
    throw err;
  }

  return {
    source: 'cgroup-v2',
    read(): ContainerCounters {
      const cpuUsec = cpuStatUsec(files.cpu.read(), files.cpu.path);
      const memoryUsageBytes = singleUint(files.usage.read(), files.usage.path);
      const memoryInactiveFileBytes = keyedUint(files.stat.read(), INACTIVE_FILE, files.stat.path);
      const pids = singleUint(files.pids.read(), files.pids.path);
      const memoryLimitBytes = memoryMax ? limitBytes(memoryMax.read(), memoryMax.path) : null;
      const cpuLimitMillis = cpuMax ? cpuMaxMillis(cpuMax.read(), cpuMax.path) : null;
      const interfaces: InterfaceCounters[] = netDev ? parseNetDev(netDev.read(), netDev.path) : [];
      return {
        cpuUsec,
        memoryUsageBytes,
        memoryInactiveFileBytes,
        memoryLimitBytes,
        cpuLimitMillis,
        pids,
        interfaces,
      };
    },
    close() {
      for (const f of [...Object.values(files), ...optional]) f.close();
    },
  };
}
