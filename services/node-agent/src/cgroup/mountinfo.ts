/** A cgroup hierarchy as mounted: where, and which of its cgroups is the mount's root. */
export interface MountedHierarchy {
  mountPoint: string;
  /**
   * The hierarchy's cgroup shown at the mount point: `/` on a host; a container's own cgroup
   * inside one (a cgroup namespace or a bind mount of a sub-folder).
   */
  root: string;
}

export interface CgroupMounts {
  /** cgroup v1 hierarchies by controller (`memory`, `cpuacct`…, and `name=systemd`). */
  v1: Map<string, MountedHierarchy>;
  /** The cgroup v2 hierarchy, when mounted (on a hybrid host: /sys/fs/cgroup/unified, often empty). */
  v2: MountedHierarchy | undefined;
}

const V1_CONTROLLERS = new Set([
  'blkio',
  'cpu',
  'cpuacct',
  'cpuset',
  'devices',
  'freezer',
  'hugetlb',
  'memory',
  'misc',
  'net_cls',
  'net_prio',
  'perf_event',
  'pids',
  'rdma',
]);

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function isUnder(mountPoint: string, root: string): boolean {
  const r = root.endsWith('/') && root.length > 1 ? root.slice(0, -1) : root;
  return mountPoint === r || mountPoint.startsWith(r === '/' ? '/' : `${r}/`);
}

/**
 * The cgroup mounts of `/proc/self/mountinfo` (proc(5)) at or under `under` (the agent's cgroup
 * root): `id parent major:minor root mountpoint options [optional…] - fstype source super-options`.
 * The first mount of a hierarchy wins (later ones are bind mounts of the same counters).
 */
export function parseMountinfo(text: string, under: string): CgroupMounts {
  const mounts: CgroupMounts = { v1: new Map(), v2: undefined };
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6) continue;
    const fstype = fields[dash + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = unescape(fields[3]!);
    const mountPoint = unescape(fields[4]!);
    if (!isUnder(mountPoint, under)) continue;
    const hierarchy = { mountPoint, root };
    if (fstype === 'cgroup2') {
      mounts.v2 ??= hierarchy;
      continue;
    }
    for (const option of (fields[dash + 3] ?? '').split(',')) {
      if (V1_CONTROLLERS.has(option) || option.startsWith('name=')) {
        if (!mounts.v1.has(option)) mounts.v1.set(option, hierarchy);
      }
    }
  }
  return mounts;
}
