import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo, type CgroupMounts, type MountedHierarchy } from './mountinfo';

/** Where the node's container counters are: the v1 controllers the agent reads, or the v2 hierarchy. */
export type CgroupLayout =
  | {
      version: 1;
      cpuacct: MountedHierarchy;
      memory: MountedHierarchy;
      pids: MountedHierarchy;
      /** The CFS quota; absent when the cpu controller is not mounted. */
      cpu: MountedHierarchy | undefined;
    }
  | { version: 2; unified: MountedHierarchy }
  /** No counters here (an empty folder, a daemon in a VM): the agent falls back to Docker's stats. */
  | { version: 'none'; reason: string };

export interface CgroupRoots {
  /** Where the host's cgroup hierarchies are mounted (/sys/fs/cgroup; a hostPath mount in a pod). */
  cgroupRoot: string;
  /** The host's procfs (/proc; /host/proc in a pod): per-process cgroup and net/dev files. */
  procRoot: string;
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isDir(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Hierarchies by looking at the folder itself, for a root that is not a mount point of this
 * process (fixture folders in tests; a copy of a node's tree): v2 when it has
 * `cgroup.controllers`, v1 controllers as sub-folders (a co-mounted `cpu,cpuacct` is reached
 * through the `cpuacct` link hosts make).
 */
function probeFolder(cgroupRoot: string): CgroupMounts {
  const mounts: CgroupMounts = { v1: new Map(), v2: undefined };
  if (fs.existsSync(path.join(cgroupRoot, 'cgroup.controllers')))
    mounts.v2 = { mountPoint: cgroupRoot, root: '/' };
  for (const controller of ['cpuacct', 'memory', 'pids', 'cpu']) {
    const dir = path.join(cgroupRoot, controller);
    if (isDir(dir)) mounts.v1.set(controller, { mountPoint: dir, root: '/' });
  }
  return mounts;
}

/**
 * Which cgroup version holds the containers' counters. From `/proc/self/mountinfo` (the mounts
 * under `cgroupRoot`), else from the folder's content. A hybrid host (v1 controllers, and an
 * empty cgroup2 at /sys/fs/cgroup/unified) reads v1: a controller lives in one hierarchy only.
 */
export function detectCgroupLayout(roots: CgroupRoots): CgroupLayout {
  let mounts = parseMountinfo(readOrEmpty(path.join(roots.procRoot, 'self', 'mountinfo')), roots.cgroupRoot);
  if (mounts.v1.size === 0 && !mounts.v2) mounts = probeFolder(roots.cgroupRoot);

  const controllers = mounts.v2
    ? readOrEmpty(path.join(mounts.v2.mountPoint, 'cgroup.controllers')).trim().split(/\s+/)
    : [];
  if (mounts.v2 && controllers.includes('memory') && controllers.includes('pids'))
    return { version: 2, unified: mounts.v2 };

  const cpuacct = mounts.v1.get('cpuacct');
  const memory = mounts.v1.get('memory');
  const pids = mounts.v1.get('pids');
  if (cpuacct && memory && pids) return { version: 1, cpuacct, memory, pids, cpu: mounts.v1.get('cpu') };

  const missing = ['cpuacct', 'memory', 'pids'].filter((c) => !mounts.v1.has(c));
  const v2 = mounts.v2
    ? `the cgroup v2 hierarchy at ${mounts.v2.mountPoint} has no memory and pids controllers`
    : 'no cgroup v2 hierarchy';
  return {
    version: 'none',
    reason: `no cgroup counters under ${roots.cgroupRoot}: cgroup v1 lacks ${missing.join(', ')}; ${v2}`,
  };
}
