/**
 * What the agent costs on a node: 100 `testbed/busybox` containers (`sleep 3600`, no network)
 * on node1, the COMPILED agent (`node dist/node-agent/main.js`, built first) against node1's
 * socket and a Kafka namespace of its own at 3 s for about a minute. Measured from outside the
 * process: CPU time per interval (utime + stime of /proc/<pid>/stat) and resident memory
 * (VmRSS), against the limits of 1 % of one core and 64 MB; and the bytes it publishes per
 * container sample against Docker's one-shot stats JSON for the same containers.
 *
 *   npx tsx services/node-agent/bench/agent-cost.ts        (the rig up: npm run stack:up)
 *
 * `runAgentCostBench()` is what `npm run bench:stats` calls. The containers are removed in
 * every case; every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { AGENT_NODE_FLAGS } from '../src/node-flags';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Docker from 'dockerode';
import { randomSuffix, repoRoot, rigEnv } from '../../../test/support/rig';
import { buildService } from '../../../deploy/build/build';
import { mapLimit } from '../src/concurrency';

export interface AgentCostResult {
  containers: number;
  intervalMs: number;
  intervals: number;
  cpuMsPerInterval: number;
  cpuMsPerIntervalMax: number;
  /** Share of one core, from the CPU per interval. */
  coreShare: number;
  rssMaxBytes: number;
  rssLastBytes: number;
  bytesPerSample: number;
  dockerStatsBytesPerContainer: number;
}

const LIMIT_CORE_SHARE = 0.01;
const LIMIT_RSS = 64 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function clockTicksPerSecond(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout.trim()) || 100;
}

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) start after the last ')': utime is the 14th field.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The raw body length of one one-shot stats answer, straight over the socket. */
function statsBodyBytes(socketPath: string, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { socketPath, path: `/v1.41/containers/${id}/stats?stream=false&one-shot=true`, timeout: 10_000 },
      (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(n) : reject(new Error(`stats ${id}: ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`stats ${id}: no answer within 10 s`)));
    req.on('error', reject);
  });
}

async function metricsOf(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+) ([0-9.e+-]+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

export async function runAgentCostBench(
  opts: { containers?: number; intervalMs?: number; measureMs?: number; log?: (line: string) => void } = {},
): Promise<AgentCostResult> {
  const count = opts.containers ?? 100;
  const intervalMs = opts.intervalMs ?? 3000;
  const measureMs = opts.measureMs ?? 60_000;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const env = rigEnv('NODE1_DOCKER_SOCKET', 'KAFKA_BROKERS');
  const socket = env.NODE1_DOCKER_SOCKET!;
  const docker = new Docker({ socketPath: socket, timeout: 30_000 });
  const label = `testbed.bench=agent-cost-${randomSuffix()}`;
  const ids: string[] = [];
  let agent: ChildProcess | undefined;

  try {
    const built = await buildService('node-agent');
    log(`built ${path.relative(repoRoot, built.outfile)} (${(built.bytes / 1024).toFixed(0)} kB)`);

    const t0 = Date.now();
    await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      4,
      async () => {
        const c = await docker.createContainer({
          Image: 'testbed/busybox',
          Cmd: ['sleep', '3600'],
          Labels: { [label.split('=')[0]!]: label.split('=')[1]! },
          StopSignal: 'SIGKILL',
          HostConfig: { NetworkMode: 'none' },
        });
        ids.push(c.id);
        await c.start();
      },
    );
    log(`${count} containers started on node1 in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const lines: string[] = [];
    agent = spawn(process.execPath, [...AGENT_NODE_FLAGS, built.outfile], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        NODE_AGENT_NODE: 'node1',
        DOCKER_HOST: `unix://${socket}`,
        KAFKA_BROKERS: env.KAFKA_BROKERS!,
        KAFKA_NAMESPACE: `bench-agent-${randomSuffix()}`,
        NODE_AGENT_INTERVAL_MS: String(intervalMs),
        NODE_AGENT_PORT: '0',
        NODE_AGENT_LISTEN_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const proc = agent;
    proc.stdout!.on('data', (d: Buffer) => lines.push(...d.toString('utf8').split('\n').filter(Boolean)));
    const pid = proc.pid!;
    // LOG_LEVEL warn hides the serving line: ask the port from the process's listening socket instead.
    const url = await until(
      'the agent listening',
      async () => {
        const inodes = new Set(
          fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
            const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
            return m ? [m[1]!] : [];
          }),
        );
        for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
          const f = line.trim().split(/\s+/);
          // local address 0100007F:PORT, state 0A (LISTEN), inode in field 9
          if (f[3] === '0A' && f[1]?.startsWith('0100007F:') && inodes.has(f[9]!))
            return `http://127.0.0.1:${parseInt(f[1].split(':')[1]!, 16)}`;
        }
        return undefined;
      },
      30_000,
    );
    await until(
      'every container sampled',
      async () => {
        const m = await metricsOf(url);
        return (m.get('node_agent_containers_sampled') ?? 0) >= count ? true : undefined;
      },
      30_000 + 3 * intervalMs,
    );
    // Two more intervals before measuring: start-up (module loading, first opens) is not the steady cost.
    await sleep(2 * intervalMs);

    const hz = clockTicksPerSecond();
    const before = await metricsOf(url);
    const windows: number[] = [];
    let rssMax = 0;
    let ticks = cpuTicks(pid);
    const startTicks = ticks;
    const start = Date.now();
    while (Date.now() - start < measureMs) {
      const windowStart = Date.now();
      while (Date.now() - windowStart < intervalMs) {
        rssMax = Math.max(rssMax, rssBytes(pid));
        await sleep(250);
      }
      const now = cpuTicks(pid);
      windows.push(((now - ticks) * 1000) / hz);
      ticks = now;
    }
    const elapsed = Date.now() - start;
    const cpuMs = ((ticks - startTicks) * 1000) / hz;
    const intervals = elapsed / intervalMs;
    const rssLast = rssBytes(pid);
    const after = await metricsOf(url);
    const samples =
      (after.get('node_agent_samples_sent_total') ?? 0) - (before.get('node_agent_samples_sent_total') ?? 0);
    const bytes =
      (after.get('node_agent_sample_bytes_sent_total') ?? 0) -
      (before.get('node_agent_sample_bytes_sent_total') ?? 0);

    const statsBytes = await mapLimit(ids, 4, (id) => statsBodyBytes(socket, id));
    const dockerPerContainer = statsBytes.reduce((a, b) => a + b, 0) / statsBytes.length;

    const result: AgentCostResult = {
      containers: count,
      intervalMs,
      intervals: Math.round(intervals * 10) / 10,
      cpuMsPerInterval: cpuMs / intervals,
      cpuMsPerIntervalMax: Math.max(...windows),
      coreShare: cpuMs / elapsed,
      rssMaxBytes: rssMax,
      rssLastBytes: rssLast,
      bytesPerSample: samples > 0 ? bytes / samples : NaN,
      dockerStatsBytesPerContainer: dockerPerContainer,
    };
    const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
    log(
      `node agent, ${count} containers on node1, every ${intervalMs} ms, ${result.intervals} intervals measured:`,
    );
    log(
      `  CPU per interval   ${result.cpuMsPerInterval.toFixed(1)} ms mean, ${result.cpuMsPerIntervalMax.toFixed(0)} ms worst ` +
        `= ${(result.coreShare * 100).toFixed(2)} % of one core (limit 1 %: ${(result.coreShare / LIMIT_CORE_SHARE).toFixed(2)} of it)`,
    );
    log(
      `  resident memory    ${mb(result.rssMaxBytes)} MB at most, ${mb(result.rssLastBytes)} MB at the end ` +
        `(limit 64 MB: ${(result.rssMaxBytes / LIMIT_RSS).toFixed(2)} of it)`,
    );
    log(
      `  bytes per sample   ${result.bytesPerSample.toFixed(1)} B published (${samples} samples) against ` +
        `${result.dockerStatsBytesPerContainer.toFixed(0)} B of Docker one-shot stats JSON per container: ` +
        `${(result.dockerStatsBytesPerContainer / result.bytesPerSample).toFixed(0)}× fewer`,
    );
    return result;
  } finally {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (agent.exitCode === null) agent.kill('SIGKILL');
    }
    const left = await docker.listContainers({ all: true, filters: { label: [label] } }).catch(() => []);
    await mapLimit(left, 8, (c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    );
    log(`removed ${left.length} containers`);
  }
}

if (require.main === module) {
  runAgentCostBench().then(
    (r) => {
      const ok = r.coreShare <= LIMIT_CORE_SHARE && r.rssMaxBytes <= LIMIT_RSS;
      process.stdout.write(ok ? 'within the limits\n' : 'OVER A LIMIT\n');
      process.exit(ok ? 0 : 1);
    },
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
