import fs from 'node:fs';
import path from 'node:path';
import type { CounterReader } from './counters';
import {
  computedCgroupPath,
  foldersAt,
  foldersFromProc,
  type CgroupDriver,
  type ContainerFolders,
} from './container-paths';
import { CounterFileGoneError } from './kept-open-file';
import type { CgroupLayout, CgroupRoots } from './layout';
import { parseProcCgroup } from './proc-cgroup';
import { openV1Reader } from './v1-reader';
import { openV2Reader } from './v2-reader';

/** What the agent knows of a running container that its cgroup files are found from. */
export interface CgroupTarget {
  /** Docker's full id: every cgroup path of the container holds it. */
  id: string;
  /** The container's init process (Docker's State.Pid) on this host. */
  pid: number;
  /** Candidate cgroup parents for the computed path, most specific first ('' = Docker's default). */
  cgroupParents: string[];
  /** On the host's network (`--network host`): its interfaces are the node's, so none are read. */
  hostNetwork: boolean;
}

/** The container's cgroup is not on this host, or not where it could be looked for. */
export class CgroupNotFoundError extends Error {
  override readonly name = 'CgroupNotFoundError';
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function holdsPid(folder: string, pid: number): boolean {
  const procs = readOrUndefined(path.join(folder, 'cgroup.procs'));
  return procs !== undefined && procs.split('\n').includes(String(pid));
}

function procFolderOf(f: ContainerFolders): string {
  return f.version === 2 ? f.folder : f.folders.memory;
}

/**
 * Finds the container's cgroup folders and opens its counter files (once; the reader re-reads
 * them). First from `/proc/<pid>/cgroup`, which names the folders whatever the driver and
 * cgroup parent, checked to hold the container's id (a reused pid is another process). Else the
 * path Docker computes from its driver and the cgroup parent, checked to hold the pid.
 */
export function openContainerCounters(
  layout: Exclude<CgroupLayout, { version: 'none' }>,
  roots: CgroupRoots,
  driver: CgroupDriver,
  target: CgroupTarget,
): { reader: CounterReader; folders: ContainerFolders; how: 'proc' | 'computed' } {
  const procFile = path.join(roots.procRoot, String(target.pid), 'cgroup');
  const procText = readOrUndefined(procFile);
  let folders = procText ? foldersFromProc(layout, parseProcCgroup(procText), target.id) : undefined;
  let how: 'proc' | 'computed' = 'proc';
  if (!folders) {
    how = 'computed';
    for (const parent of target.cgroupParents) {
      const candidate = foldersAt(layout, computedCgroupPath(driver, parent, target.id));
      if (candidate && holdsPid(procFolderOf(candidate), target.pid)) {
        folders = candidate;
        break;
      }
    }
  }
  if (!folders) {
    const seen = procText === undefined ? `${procFile} does not exist` : `${procFile} does not name it`;
    throw new CgroupNotFoundError(
      `container ${target.id.slice(0, 12)} (pid ${target.pid}): no cgroup of it under ${roots.cgroupRoot} (${seen}, ` +
        `and no ${driver} path holds the pid)`,
    );
  }
  const netDev = target.hostNetwork ? undefined : path.join(roots.procRoot, String(target.pid), 'net', 'dev');
  try {
    const reader =
      folders.version === 2 ? openV2Reader(folders.folder, netDev) : openV1Reader(folders.folders, netDev);
    return { reader, folders, how };
  } catch (err) {
    if (err instanceof CounterFileGoneError)
      throw new CgroupNotFoundError(`container ${target.id.slice(0, 12)}: ${err.message}`, { cause: err });
    throw err;
  }
}
