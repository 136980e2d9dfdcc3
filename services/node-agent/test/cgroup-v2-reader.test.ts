/**
 * The cgroup v2 reader: against the host's own cgroup2 mount where it has the file (this rig's
 * host is cgroup v1 with an empty cgroup2 hierarchy at /sys/fs/cgroup/unified, which keeps only
 * cpu.stat per cgroup), and against fixture trees in the kernel's documented format for the rest
 * (test/fixtures/cgroup-v2, see its README).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeptOpenFile } from '../src/cgroup/kept-open-file';
import { detectCgroupLayout } from '../src/cgroup/layout';
import { openContainerCounters, type CgroupTarget } from '../src/cgroup/open-container';
import { cpuStatUsec, openV2Reader } from '../src/cgroup/v2-reader';
import { removeLabelled, rigNode, runContainer, testLabel } from './support/rig-docker';

const fixtures = path.join(__dirname, 'fixtures', 'cgroup-v2');
const UNLIMITED = '5a1b9a8e0f3c4d2b9e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d';
const LIMITED = 'c0ffee00aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff';
const CGROUPFS = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

function rootsOf(tree: string) {
  return {
    cgroupRoot: path.join(fixtures, tree, 'sys-fs-cgroup'),
    procRoot: path.join(fixtures, tree, 'proc'),
  };
}

function openFixture(tree: string, target: CgroupTarget) {
  const roots = rootsOf(tree);
  const layout = detectCgroupLayout(roots);
  if (layout.version !== 2)
    throw new Error(`fixture ${tree} is not read as cgroup v2: ${JSON.stringify(layout)}`);
  return openContainerCounters(layout, roots, tree === 'systemd' ? 'systemd' : 'cgroupfs', target);
}

describe("the host's cgroup2 mount (the rig: hybrid, cpu.stat only)", () => {
  const node = rigNode('node2');
  const label = testLabel('v2-host');
  afterAll(() => removeLabelled(node, label));

  test('the root cpu.stat of /sys/fs/cgroup/unified parses and grows', async () => {
    const file = new KeptOpenFile('/sys/fs/cgroup/unified/cpu.stat');
    try {
      const a = cpuStatUsec(file.read(), file.path);
      await new Promise((r) => setTimeout(r, 200));
      const b = cpuStatUsec(file.read(), file.path);
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThanOrEqual(a);
    } finally {
      file.close();
    }
  });

  test("a busy container's cpu.stat usage_usec in the cgroup2 hierarchy rises with its v1 cpuacct.usage", async () => {
    const busy = await runContainer(node, { label, cmd: ['sh', '-c', 'while :; do :; done'] });
    const v2 = new KeptOpenFile(`/sys/fs/cgroup/unified${node.cgroupParent}/${busy.id}/cpu.stat`);
    const v1 = new KeptOpenFile(`/sys/fs/cgroup/cpuacct${node.cgroupParent}/${busy.id}/cpuacct.usage`);
    try {
      const a = cpuStatUsec(v2.read(), v2.path);
      await new Promise((r) => setTimeout(r, 1500));
      const b = cpuStatUsec(v2.read(), v2.path);
      const ns = Number(v1.read().toString('latin1').trim());
      expect(b - a).toBeGreaterThan(300_000); // a busy loop: well over 0.2 s of CPU in 1.5 s
      // The same CPU time, accounted by both hierarchies.
      expect(Math.abs(b - ns / 1000)).toBeLessThan(100_000);
    } finally {
      v1.close();
      v2.close();
    }
  });
});

describe('the cgroup v2 reader on fixture trees in the kernel format', () => {
  test('fixture: a v2 host is detected from its folder (cgroup.controllers with memory and pids)', () => {
    expect(detectCgroupLayout(rootsOf('systemd'))).toEqual({
      version: 2,
      unified: { mountPoint: rootsOf('systemd').cgroupRoot, root: '/' },
    });
  });

  test('fixture (systemd driver, system.slice): every counter, "max" limits as none, the loopback left out', () => {
    const { reader, how, folders } = openFixture('systemd', {
      id: UNLIMITED,
      pid: 4242,
      cgroupParents: [''],
      hostNetwork: false,
    });
    try {
      expect(how).toBe('proc');
      expect(folders).toEqual({
        version: 2,
        folder: path.join(rootsOf('systemd').cgroupRoot, 'system.slice', `docker-${UNLIMITED}.scope`),
      });
      expect(reader.source).toBe('cgroup-v2');
      expect(reader.read()).toEqual({
        cpuUsec: 1234567,
        memoryUsageBytes: 2490368,
        memoryInactiveFileBytes: 1052672,
        memoryLimitBytes: null,
        cpuLimitMillis: null,
        pids: 1,
        interfaces: [{ name: 'eth0', rxBytes: 1296, rxPackets: 16, txBytes: 936, txPackets: 12 }],
      });
    } finally {
      reader.close();
    }
  });

  test('fixture (systemd driver, --cgroup-parent testbed-node2.slice): limits, large counters exact', () => {
    const { reader } = openFixture('systemd', {
      id: LIMITED,
      pid: 4343,
      cgroupParents: [''],
      hostNetwork: false,
    });
    try {
      expect(reader.read()).toEqual({
        cpuUsec: 98765432109,
        memoryUsageBytes: 33554432,
        memoryInactiveFileBytes: 2101248,
        memoryLimitBytes: 67108864,
        cpuLimitMillis: 500,
        pids: 7,
        interfaces: [
          { name: 'eth0', rxBytes: 123456789012, rxPackets: 9876543, txBytes: 2233445566, txPackets: 778899 },
        ],
      });
    } finally {
      reader.close();
    }
  });

  test('fixture (cgroupfs driver, --cgroup-parent /testbed-node1): two CPUs as 2000 millicores', () => {
    const { reader } = openFixture('cgroupfs', {
      id: CGROUPFS,
      pid: 4444,
      cgroupParents: [''],
      hostNetwork: true,
    });
    try {
      const c = reader.read();
      expect(c.cpuLimitMillis).toBe(2000);
      expect(c.memoryLimitBytes).toBe(134217728);
      // On the host's network: the node's interfaces, not the container's, so none are read.
      expect(c.interfaces).toEqual([]);
    } finally {
      reader.close();
    }
  });

  test('fixture: without /proc/<pid>/cgroup the computed systemd path (slice of the cgroup parent) holding the pid is used', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-proc-'));
    try {
      // The pid's net/dev is there, its cgroup file is not (as in a cgroup namespace).
      fs.mkdirSync(path.join(tmp, '4343'));
      fs.cpSync(path.join(fixtures, 'systemd', 'proc', '4343', 'net'), path.join(tmp, '4343', 'net'), {
        recursive: true,
      });
      const roots = { cgroupRoot: rootsOf('systemd').cgroupRoot, procRoot: tmp };
      const layout = detectCgroupLayout(roots);
      if (layout.version !== 2) throw new Error('not v2');
      const target = { id: LIMITED, pid: 4343, hostNetwork: false };
      expect(() =>
        openContainerCounters(layout, roots, 'systemd', { ...target, cgroupParents: [''] }),
      ).toThrow(/no cgroup of it/);
      const { reader, how } = openContainerCounters(layout, roots, 'systemd', {
        ...target,
        cgroupParents: ['', 'testbed-node2.slice'],
      });
      expect(how).toBe('computed');
      expect(reader.read().cpuUsec).toBe(98765432109);
      reader.close();
      // A path that exists but does not hold the pid is another container's, never taken.
      expect(() =>
        openContainerCounters(layout, roots, 'systemd', {
          ...target,
          pid: 999,
          cgroupParents: ['testbed-node2.slice'],
        }),
      ).toThrow(/no cgroup of it/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('fixture: each file is opened once and the same fd is re-read, showing what the file says now', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-v2-'));
    const folder = path.join(tmp, 'c');
    fs.cpSync(path.join(rootsOf('cgroupfs').cgroupRoot, 'testbed-node1', CGROUPFS), folder, {
      recursive: true,
    });
    const opens = jest.spyOn(fs, 'openSync');
    const reads = jest.spyOn(fs, 'readSync');
    try {
      const reader = openV2Reader(folder, undefined);
      const opened = opens.mock.results.map((r) => r.value as number);
      expect(opens.mock.calls.map((c) => path.basename(String(c[0]))).sort()).toEqual(
        ['cpu.max', 'cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'pids.current'].sort(),
      );
      expect(reader.read().cpuUsec).toBe(5000000);
      // The kernel rewrites a cgroup file's content in place; so does this (same inode).
      fs.writeFileSync(path.join(folder, 'cpu.stat'), 'usage_usec 5600000\nuser_usec 1\nsystem_usec 2\n');
      fs.writeFileSync(path.join(folder, 'memory.max'), 'max\n');
      const c = reader.read();
      expect(c.cpuUsec).toBe(5600000);
      expect(c.memoryLimitBytes).toBeNull();
      expect(opens).toHaveBeenCalledTimes(opened.length);
      // Every read went to one of the fds opened at the start, from offset 0.
      for (const call of reads.mock.calls) {
        expect(opened).toContain(call[0]);
        expect((call as unknown[])[4]).toBe(0);
      }
      expect(reads.mock.calls.length).toBe(2 * opened.length);
      reader.close();
    } finally {
      opens.mockRestore();
      reads.mockRestore();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
