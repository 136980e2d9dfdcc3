import path from 'node:path';
import type { ContainerCounters, CounterReader } from './counters';
import { openReaderFiles } from './reader-files';
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
  const opened = openReaderFiles(
    {
      cpu: path.join(folder, 'cpu.stat'),
      usage: path.join(folder, 'memory.current'),
      stat: path.join(folder, 'memory.stat'),
      pids: path.join(folder, 'pids.current'),
    },
    { memoryMax: path.join(folder, 'memory.max'), cpuMax: path.join(folder, 'cpu.max') },
    netDevPath,
  );
  const files = opened.required;
  const { memoryMax, cpuMax } = opened.optional;

  return {
    source: 'cgroup-v2',
    read(): ContainerCounters {
      const cpuUsec = cpuStatUsec(files.cpu.read(), files.cpu.path);
      const memoryUsageBytes = singleUint(files.usage.read(), files.usage.path);
      const memoryInactiveFileBytes = keyedUint(files.stat.read(), INACTIVE_FILE, files.stat.path);
      const pids = singleUint(files.pids.read(), files.pids.path);
      const memoryLimitBytes = memoryMax ? limitBytes(memoryMax.read(), memoryMax.path) : null;
      const cpuLimitMillis = cpuMax ? cpuMaxMillis(cpuMax.read(), cpuMax.path) : null;
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
