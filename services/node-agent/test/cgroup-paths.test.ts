/**
 * Where a container's cgroup folders are, from `/proc/<pid>/cgroup` and `/proc/self/mountinfo`
 * text (fixtures in the kernel's format, cgroups(7) and proc(5)) for cgroupfs and systemd
 * drivers, Docker's default parents and --cgroup-parent, v1, v2 and hybrid hosts; and the path
 * Docker computes, the second way.
 */
import { computedCgroupPath, folderIn, foldersAt, foldersFromProc } from '../src/cgroup/container-paths';
import { detectCgroupLayout, type CgroupLayout } from '../src/cgroup/layout';
import { parseMountinfo } from '../src/cgroup/mountinfo';
import { parseProcCgroup } from '../src/cgroup/proc-cgroup';

const ID = '1de8c393505f681c8a736b0da67e1c8eeb6bd5bb5462957b8f28600f3df65c4c';

/** This rig's host: v1 controllers (cpu and cpuacct apart), named systemd, an empty cgroup2. */
const HYBRID_MOUNTINFO = `22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;

/** A Debian 11 style host: cpu and cpuacct co-mounted, optional fields before the separator. */
const COMOUNTED_MOUNTINFO = `30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids`;

/** A pod with the host's /sys/fs/cgroup mounted at /host/sys/fs/cgroup (unified, cgroup v2 only). */
const POD_MOUNTINFO = `812 790 0:29 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup ro
830 790 0:29 / /host/sys/fs/cgroup ro,nosuid,nodev,noexec,relatime master:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
831 790 0:5 / /host/proc ro,nosuid,nodev,noexec,relatime - proc proc rw`;

function v1Layout(): Extract<CgroupLayout, { version: 1 }> {
  const m = parseMountinfo(HYBRID_MOUNTINFO, '/sys/fs/cgroup');
  return {
    version: 1,
    cpuacct: m.v1.get('cpuacct')!,
    memory: m.v1.get('memory')!,
    pids: m.v1.get('pids')!,
    cpu: m.v1.get('cpu'),
  };
}
const v2Layout: Extract<CgroupLayout, { version: 2 }> = {
  version: 2,
  unified: { mountPoint: '/sys/fs/cgroup', root: '/' },
};

describe('mountinfo', () => {
  test('a hybrid host: every v1 controller by name, and the cgroup2 mount at unified', () => {
    const m = parseMountinfo(HYBRID_MOUNTINFO, '/sys/fs/cgroup');
    expect([...m.v1.keys()].sort()).toEqual(['cpu', 'cpuacct', 'memory', 'name=systemd', 'pids']);
    expect(m.v1.get('cpuacct')).toEqual({ mountPoint: '/sys/fs/cgroup/cpuacct', root: '/' });
    expect(m.v2).toEqual({ mountPoint: '/sys/fs/cgroup/unified', root: '/' });
  });

  test('co-mounted cpu,cpuacct is one hierarchy for both controllers', () => {
    const m = parseMountinfo(COMOUNTED_MOUNTINFO, '/sys/fs/cgroup');
    expect(m.v1.get('cpu')).toEqual({ mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/' });
    expect(m.v1.get('cpuacct')).toBe(m.v1.get('cpu'));
    expect(m.v2).toBeUndefined();
  });

  test('only mounts under the cgroup root count: a pod reads the host tree it mounted, not its own', () => {
    const m = parseMountinfo(POD_MOUNTINFO, '/host/sys/fs/cgroup');
    expect(m.v2).toEqual({ mountPoint: '/host/sys/fs/cgroup', root: '/' });
    expect(m.v1.size).toBe(0);
    expect(parseMountinfo(POD_MOUNTINFO, '/elsewhere').v2).toBeUndefined();
  });

  test('this host, live: cgroup v1 (the empty cgroup2 at unified has no controllers)', () => {
    const layout = detectCgroupLayout({ cgroupRoot: '/sys/fs/cgroup', procRoot: '/proc' });
    expect(layout).toMatchObject({
      version: 1,
      cpuacct: { mountPoint: '/sys/fs/cgroup/cpuacct' },
      memory: { mountPoint: '/sys/fs/cgroup/memory' },
      pids: { mountPoint: '/sys/fs/cgroup/pids' },
    });
  });
});

describe('a container from /proc/<pid>/cgroup', () => {
  test('cgroupfs driver with --cgroup-parent /testbed-node1 (v1, and the 0:: line of a hybrid host)', () => {
    const text = ['cpu', 'cpuacct', 'memory', 'pids', 'name=systemd']
      .map((c, i) => `${9 - i}:${c}:/testbed-node1/${ID}`)
      .concat([`0::/testbed-node1/${ID}`])
      .join('\n');
    const proc = parseProcCgroup(text);
    expect(proc.v2).toBe(`/testbed-node1/${ID}`);
    expect(foldersFromProc(v1Layout(), proc, ID)).toEqual({
      version: 1,
      folders: {
        cpuacct: `/sys/fs/cgroup/cpuacct/testbed-node1/${ID}`,
        memory: `/sys/fs/cgroup/memory/testbed-node1/${ID}`,
        pids: `/sys/fs/cgroup/pids/testbed-node1/${ID}`,
        cpu: `/sys/fs/cgroup/cpu/testbed-node1/${ID}`,
      },
    });
  });

  test("cgroupfs driver, Docker's default parent /docker, co-mounted cpu,cpuacct (v1)", () => {
    const proc = parseProcCgroup(
      `4:pids:/docker/${ID}\n3:memory:/docker/${ID}\n2:cpu,cpuacct:/docker/${ID}\n1:name=systemd:/docker/${ID}\n`,
    );
    const m = parseMountinfo(COMOUNTED_MOUNTINFO, '/sys/fs/cgroup');
    const layout: CgroupLayout = {
      version: 1,
      cpuacct: m.v1.get('cpuacct')!,
      memory: m.v1.get('memory')!,
      pids: m.v1.get('pids')!,
      cpu: m.v1.get('cpu'),
    };
    expect(foldersFromProc(layout, proc, ID)).toMatchObject({
      folders: {
        cpuacct: `/sys/fs/cgroup/cpu,cpuacct/docker/${ID}`,
        cpu: `/sys/fs/cgroup/cpu,cpuacct/docker/${ID}`,
      },
    });
  });

  test('systemd driver: system.slice/docker-<id>.scope (v1 and v2)', () => {
    const v1 = parseProcCgroup(
      ['cpuacct', 'memory', 'pids', 'cpu']
        .map((c, i) => `${i + 1}:${c}:/system.slice/docker-${ID}.scope`)
        .join('\n'),
    );
    expect(foldersFromProc(v1Layout(), v1, ID)).toMatchObject({
      folders: { memory: `/sys/fs/cgroup/memory/system.slice/docker-${ID}.scope` },
    });
    const v2 = parseProcCgroup(`0::/system.slice/docker-${ID}.scope\n`);
    expect(foldersFromProc(v2Layout, v2, ID)).toEqual({
      version: 2,
      folder: `/sys/fs/cgroup/system.slice/docker-${ID}.scope`,
    });
  });

  test('v2 with --cgroup-parent /testbed-node2', () => {
    expect(foldersFromProc(v2Layout, parseProcCgroup(`0::/testbed-node2/${ID}\n`), ID)).toEqual({
      version: 2,
      folder: `/sys/fs/cgroup/testbed-node2/${ID}`,
    });
  });

  test("a pid that is not the container's (reused, or another process) is refused", () => {
    expect(
      foldersFromProc(v2Layout, parseProcCgroup('0::/user.slice/user-0.slice/session-1.scope\n'), ID),
    ).toBeUndefined();
    expect(
      foldersFromProc(v1Layout(), parseProcCgroup('4:memory:/\n2:cpuacct:/\n8:pids:/\n'), ID),
    ).toBeUndefined();
  });

  test("a path outside this process's cgroup namespace, or outside the mount's root, is not guessed", () => {
    expect(
      foldersFromProc(v2Layout, parseProcCgroup(`0::/../../system.slice/docker-${ID}.scope\n`), ID),
    ).toBeUndefined();
    const inner = { mountPoint: '/sys/fs/cgroup', root: '/kubepods/pod1' };
    expect(folderIn(inner, `/kubepods/pod1/${ID}`)).toBe(`/sys/fs/cgroup/${ID}`);
    expect(folderIn(inner, `/system.slice/docker-${ID}.scope`)).toBeUndefined();
  });
});

describe("Docker's computed path (the second way)", () => {
  test('cgroupfs: <parent>/<id>, /docker by default', () => {
    expect(computedCgroupPath('cgroupfs', '', ID)).toBe(`/docker/${ID}`);
    expect(computedCgroupPath('cgroupfs', '/testbed-node3', ID)).toBe(`/testbed-node3/${ID}`);
    expect(computedCgroupPath('cgroupfs', 'testbed-node3/', ID)).toBe(`/testbed-node3/${ID}`);
  });

  test('systemd: the slice path of the parent, system.slice by default', () => {
    expect(computedCgroupPath('systemd', '', ID)).toBe(`/system.slice/docker-${ID}.scope`);
    expect(computedCgroupPath('systemd', 'testbed-node2.slice', ID)).toBe(
      `/testbed.slice/testbed-node2.slice/docker-${ID}.scope`,
    );
  });

  test('in each hierarchy of the layout', () => {
    expect(foldersAt(v2Layout, `/testbed-node1/${ID}`)).toEqual({
      version: 2,
      folder: `/sys/fs/cgroup/testbed-node1/${ID}`,
    });
    expect(foldersAt(v1Layout(), `/docker/${ID}`)).toMatchObject({
      folders: { pids: `/sys/fs/cgroup/pids/docker/${ID}` },
    });
  });
});
