import path from 'node:path';
import type { CgroupLayout } from './layout';
import type { MountedHierarchy } from './mountinfo';
import type { ProcCgroups } from './proc-cgroup';
import type { V1Folders } from './v1-reader';

export type CgroupDriver = 'cgroupfs' | 'systemd';

/** A container's cgroup folders, in the hierarchies of the node's layout. */
export type ContainerFolders = { version: 1; folders: V1Folders } | { version: 2; folder: string };

type ReadableLayout = Exclude<CgroupLayout, { version: 'none' }>;

/**
 * The folder of `cgroupPath` (a path within the hierarchy) under the hierarchy's mount point.
 * Undefined when the mount does not show that cgroup: the mount's root is elsewhere in the
 * hierarchy, or the path leaves this process's cgroup namespace (`/../…`).
 */
export function folderIn(h: MountedHierarchy, cgroupPath: string): string | undefined {
  if (!cgroupPath.startsWith('/') || cgroupPath.split('/').includes('..')) return undefined;
  const root = h.root === '/' ? '' : h.root.replace(/\/$/, '');
  if (root && cgroupPath !== root && !cgroupPath.startsWith(`${root}/`)) return undefined;
  return path.join(h.mountPoint, cgroupPath.slice(root.length));
}

/** The folders `/proc/<pid>/cgroup` names, when each of them is the container's own (holds its id). */
export function foldersFromProc(
  layout: ReadableLayout,
  proc: ProcCgroups,
  fullId: string,
): ContainerFolders | undefined {
  const own = (h: MountedHierarchy, p: string | undefined) =>
    p !== undefined && p.includes(fullId) ? folderIn(h, p) : undefined;
  if (layout.version === 2) {
    const folder = own(layout.unified, proc.v2);
    return folder ? { version: 2, folder } : undefined;
  }
  const cpuacct = own(layout.cpuacct, proc.v1.get('cpuacct'));
  const memory = own(layout.memory, proc.v1.get('memory'));
  const pids = own(layout.pids, proc.v1.get('pids'));
  if (!cpuacct || !memory || !pids) return undefined;
  const cpu = layout.cpu ? own(layout.cpu, proc.v1.get('cpu')) : undefined;
  return { version: 1, folders: { cpuacct, memory, pids, cpu } };
}

/** systemd's slice naming: `a-b.slice` lives in `a.slice/a-b.slice`. */
function slicePath(slice: string): string {
  const name = slice.slice(0, -'.slice'.length);
  const parts = name.split('-');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(`${parts.slice(0, i).join('-')}.slice`);
  return `/${out.join('/')}`;
}

/**
 * Where Docker puts a container's cgroup, from its driver and the container's cgroup parent
 * (HostConfig.CgroupParent, else the daemon's --cgroup-parent, else Docker's default): cgroupfs
 * `<parent>/<id>` (default `/docker`), systemd `<slice path>/docker-<id>.scope` (default
 * `system.slice`). The second way, for when `/proc/<pid>/cgroup` does not show the hierarchy.
 */
export function computedCgroupPath(driver: CgroupDriver, cgroupParent: string, fullId: string): string {
  if (driver === 'systemd') {
    const parent = cgroupParent || 'system.slice';
    const base = parent.endsWith('.slice') ? slicePath(parent) : `/${parent.replace(/^\/+|\/+$/g, '')}`;
    return `${base}/docker-${fullId}.scope`;
  }
  const parent = `/${(cgroupParent || '/docker').replace(/^\/+|\/+$/g, '')}`;
  return `${parent === '/' ? '' : parent}/${fullId}`;
}

/** The computed path's folders in the node's layout (undefined where a mount does not show it). */
export function foldersAt(layout: ReadableLayout, cgroupPath: string): ContainerFolders | undefined {
  if (layout.version === 2) {
    const folder = folderIn(layout.unified, cgroupPath);
    return folder ? { version: 2, folder } : undefined;
  }
  const cpuacct = folderIn(layout.cpuacct, cgroupPath);
  const memory = folderIn(layout.memory, cgroupPath);
  const pids = folderIn(layout.pids, cgroupPath);
  if (!cpuacct || !memory || !pids) return undefined;
  const cpu = layout.cpu ? folderIn(layout.cpu, cgroupPath) : undefined;
  return { version: 1, folders: { cpuacct, memory, pids, cpu } };
}
