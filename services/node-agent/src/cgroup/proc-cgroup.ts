/** A process's cgroups as `/proc/<pid>/cgroup` names them (paths within each hierarchy). */
export interface ProcCgroups {
  /** cgroup v1: path by controller (`memory`, `cpuacct`…, `name=systemd`). */
  v1: Map<string, string>;
  /** cgroup v2: the `0::<path>` line. */
  v2: string | undefined;
}

/**
 * `hierarchy-id:controller,list:path` per line (cgroups(7)); `0::path` is the v2 hierarchy. With
 * the cgroupfs driver and any `--cgroup-parent` the path is `<parent>/<full id>`; with the
 * systemd driver `…/docker-<full id>.scope`. Either way the kernel tells, so nothing is guessed.
 */
export function parseProcCgroup(text: string): ProcCgroups {
  const out: ProcCgroups = { v1: new Map(), v2: undefined };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const cgroupPath = line.slice(second + 1).trim();
    if (controllers === '') {
      if (line.slice(0, first) === '0') out.v2 = cgroupPath;
      continue;
    }
    for (const c of controllers.split(',')) out.v1.set(c, cgroupPath);
  }
  return out;
}
