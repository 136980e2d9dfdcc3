/**
 * A Docker daemon of one test's own, started as deploy/local/lib/nodes.sh starts the rig's nodes
 * but in a temporary folder: its own data root, exec root, pidfile and config file, a unix socket
 * only (no TCP), its own cgroup parent, `--bridge=none --iptables=false --ip6tables=false` (its
 * containers get no route off the machine) and a veth pair of its own as macvlan parent. Like
 * the rig's nodes it talks to a containerd of its own started beside it (`--containerd`), so a
 * killed dockerd leaves containerd and the containers' shims running, as on a node where
 * containerd is a service of its own. Its image comes from a rig node (`docker save | docker load`
 * through the Engine API): nothing is pulled, and the daemon's proxy points at a closed loopback
 * port so that a pull would fail on the machine instead of leaving it. A test can SIGKILL it and
 * start it again on the same data (a node's daemon crashing) without touching the rig's nodes.
 * Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { nodeDocker, rigEnv } from './rig';

export interface PrivateDockerd {
  /** `unix:///…/d.sock`, for a node's dockerHost. */
  dockerHost: string;
  socketPath: string;
  /** The veth end given to the platform as the node's macvlan parent. */
  macvlanParent: string;
  /** dockerode on the socket (30 s per request). */
  docker: Docker;
  /** Whether the daemon process runs now. */
  running(): boolean;
  /** SIGKILL to the daemon (its containers' shims stay, as when a node's dockerd crashes). */
  kill(): Promise<void>;
  /** Starts it again on the same data; resolves once it answers. */
  start(): Promise<void>;
  /** Containers killed, the daemon stopped, its veth pair, cgroups and folder removed. */
  destroy(): Promise<void>;
  logTail(bytes?: number): string;
}

const dockerdBin = '/usr/sbin/dockerd';
const CLOSED_LOOPBACK_PROXY = 'http://127.0.0.1:9';

function tail(file: string, bytes: number): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-bytes);
  } catch {
    return '(no log)';
  }
}

/** A cgroup folder goes with rmdir only (its files cannot be unlinked); busy ones stay to the kernel. */
function rmdirQuietly(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // still in use: the kernel frees it with its last task
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `p` settled within `ms` (the timer cleared either way, so nothing keeps the process up). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
}

/** Pids of processes whose command line contains `needle` (the daemon's containerd, its shims). */
function pidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out.filter((p) => p !== process.pid);
}

export async function startPrivateDockerd(
  opts: {
    /** The rig node whose testbed/busybox is copied in. */
    imageFrom?: string;
    images?: string[];
    startTimeoutMs?: number;
  } = {},
): Promise<PrivateDockerd> {
  if (!fs.existsSync(dockerdBin)) throw new Error(`${dockerdBin} is missing: run \`npm run stack:up\` first`);
  const id = randomBytes(3).toString('hex');
  // Short paths: unix socket names are limited to 108 bytes (containerd's sit under the exec root).
  const dir = fs.mkdtempSync(`/tmp/pdk${id}-`);
  const execRoot = path.join(dir, 'x');
  const dataRoot = path.join(dir, 'data');
  const socketPath = path.join(dir, 'd.sock');
  const pidfile = path.join(dir, 'dockerd.pid');
  const logFile = path.join(dir, 'dockerd.log');
  const configFile = path.join(dir, 'daemon.json');
  const containerdConfig = path.join(dir, 'containerd.toml');
  const containerdSocket = path.join(execRoot, 'c.sock');
  const containerdLog = path.join(dir, 'containerd.log');
  const cgroupParent = `testbed-fault-${id}`;
  const vethA = `tbf${id}`;
  const vethB = `tbf${id}p`;
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  fs.mkdirSync(execRoot);
  fs.mkdirSync(dataRoot);
  fs.writeFileSync(configFile, JSON.stringify({ 'deprecated-key-path': path.join(dir, 'key.json') }) + '\n');
  // deploy/local/lib/nodes.sh's containerd_write_config, in this folder.
  fs.writeFileSync(
    containerdConfig,
    [
      'version = 2',
      `root = "${path.join(dir, 'containerd')}"`,
      `state = "${path.join(execRoot, 'cs')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '',
      '[grpc]',
      `  address = "${containerdSocket}"`,
      '',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${path.join(dir, 'containerd-opt')}"`,
      '',
    ].join('\n'),
  );

  ip(['link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB]);
  for (const l of [vethA, vethB])
    spawnSync('sysctl', ['-q', '-w', `net.ipv6.conf.${l}.disable_ipv6=1`], { timeout: 5000 });
  ip(['link', 'set', vethA, 'up']);
  ip(['link', 'set', vethB, 'up']);

  const docker = new Docker({ socketPath, timeout: 30_000 });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let containerd: ChildProcess | undefined;
  let containerdExited: Promise<void> = Promise.resolve();

  const startContainerd = async () => {
    const log = fs.openSync(containerdLog, 'a');
    const proc = spawn('containerd', ['--config', containerdConfig], {
      stdio: ['ignore', log, log],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    fs.closeSync(log);
    containerd = proc;
    let gone = false;
    containerdExited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void containerdExited.then(() => (gone = true));
    const deadline = Date.now() + startTimeoutMs;
    while (!fs.existsSync(containerdSocket)) {
      if (gone) throw new Error(`private containerd exited while starting:\n${tail(containerdLog, 4000)}`);
      if (Date.now() > deadline)
        throw new Error(`private containerd not serving within ${startTimeoutMs} ms`);
      await sleep(100);
    }
  };

  const start = async () => {
    if (child) return;
    fs.rmSync(pidfile, { force: true });
    fs.rmSync(socketPath, { force: true });
    const log = fs.openSync(logFile, 'a');
    const proc = spawn(
      dockerdBin,
      [
        '--config-file',
        configFile,
        '--data-root',
        dataRoot,
        '--exec-root',
        execRoot,
        '--pidfile',
        pidfile,
        '--containerd',
        containerdSocket,
        '--host',
        `unix://${socketPath}`,
        '--cgroup-parent',
        `/${cgroupParent}`,
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--ip-forward=false',
        '--ip-masq=false',
        '--userland-proxy=false',
      ],
      {
        stdio: ['ignore', log, log],
        env: {
          PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          HTTP_PROXY: CLOSED_LOOPBACK_PROXY,
          HTTPS_PROXY: CLOSED_LOOPBACK_PROXY,
          NO_PROXY: '',
        },
      },
    );
    fs.closeSync(log);
    child = proc;
    let gone = false;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void exited.then(() => {
      gone = true;
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (gone) throw new Error(`private dockerd exited while starting:\n${tail(logFile, 4000)}`);
      const up = await docker.ping().then(
        () => true,
        () => false,
      );
      if (up) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`private dockerd not answering within ${startTimeoutMs} ms:\n${tail(logFile, 4000)}`);
      }
      await sleep(200);
    }
  };

  const kill = async () => {
    const proc = child;
    if (!proc) return;
    proc.kill('SIGKILL');
    await within(exited, 15_000);
    child = undefined;
  };

  const destroy = async () => {
    if (child) {
      try {
        const list = await docker.listContainers({ all: true });
        await Promise.all(
          list.map((c) =>
            docker
              .getContainer(c.Id)
              .remove({ force: true, v: true })
              .catch(() => undefined),
          ),
        );
      } catch {
        // the daemon does not answer: its processes are killed below
      }
      child.kill('SIGTERM');
      const ended = await within(exited, 20_000);
      if (!ended) await kill();
    }
    if (containerd && containerd.exitCode === null && containerd.signalCode === null) {
      containerd.kill('SIGTERM');
      const ended = await within(containerdExited, 10_000);
      if (!ended) containerd.kill('SIGKILL');
    }
    // Whatever outlived the daemon: its containerd and the shims of its containers.
    for (const pid of [...pidsWith(containerdSocket), ...pidsWith(`${execRoot}/`), ...pidsWith(dataRoot)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await sleep(200);
    spawnSync('ip', ['link', 'del', vethA], { timeout: 10_000 });
    for (const controller of fs.existsSync('/sys/fs/cgroup') ? fs.readdirSync('/sys/fs/cgroup') : []) {
      const cg = path.join('/sys/fs/cgroup', controller, cgroupParent);
      if (!fs.existsSync(cg)) continue;
      for (const sub of fs.readdirSync(cg, { withFileTypes: true }))
        if (sub.isDirectory()) rmdirQuietly(path.join(cg, sub.name));
      rmdirQuietly(cg);
    }
    // Mounts the daemon left under its folder (overlay layers, shm), deepest first.
    const mounts = fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(dir + '/'))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', ['-l', m], { timeout: 10_000 });
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await startContainerd();
    await start();
    const images = opts.images ?? ['testbed/busybox'];
    const source =
      images.length > 0 ? nodeDocker(rigEnv('TESTBED_NODES'), opts.imageFrom ?? 'node1') : undefined;
    for (const image of images) {
      const tar = (await source!.getImage(image).get()) as NodeJS.ReadableStream;
      const loading = (await docker.loadImage(tar, { quiet: true })) as NodeJS.ReadableStream;
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(loading, (err: Error | null) => (err ? reject(err) : resolve()));
      });
      await docker.getImage(image).inspect();
    }
  } catch (err) {
    await destroy();
    throw err;
  }

  return {
    dockerHost: `unix://${socketPath}`,
    socketPath,
    macvlanParent: vethA,
    docker,
    running: () => child !== undefined,
    kill,
    start,
    destroy,
    logTail: (bytes = 4000) => tail(logFile, bytes),
  };
}
