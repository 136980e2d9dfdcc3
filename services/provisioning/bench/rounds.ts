/**
 * The rounds both batch benchmarks run. One platform is started once and stays up, as users meet
 * it: a running service. Its first batch (the query compiler, the fresh database's catalogue
 * caches and the JIT all cold) is timed on its own, next to dockerode's first, and is kept out of
 * the medians. Then ROUNDS rounds each time a batch through the API and the same containers
 * through dockerode. The round's first path alternates, so whatever the machine does meanwhile
 * weighs on both alike.
 *
 * Each path also removes what it made, and that is timed too:
 * - the API through `DELETE /v1/batches/{id}`, waited for until ipam has every address back;
 * - dockerode with the same parallelism.
 *
 * The dockerode containers carry a platform label of their own, so the running platform's
 * events watcher and drift check leave them alone.
 */
import type { TestHost } from '@testbed/test-support/test-host';
import type { NodeDocker } from '../src/docker/node-docker';
import { figure, type Figure } from '../../../bench/lib/figures';
import { timeBatch } from './bench-host';
import { directCreate, median, removeOwned, within, type NodeWork } from './baselines';

const PHASE_MS = 60_000;

export interface RoundTimes {
  api: number;
  direct: number;
  apiRemove: number;
  directRemove: number;
  /** The process's CPU seconds (all threads) through the API batch, and through dockerode's. */
  apiCpu: number;
  directCpu: number;
}

export interface Rounds {
  /** The first batch after the platform started, and dockerode's first. */
  first: RoundTimes;
  /** The rounds after it. */
  rounds: RoundTimes[];
}

type Compared = 'create' | 'remove';

/** Each round's API figure and the one it is compared with. */
function paired(rounds: RoundTimes[], key: Compared): { a: number[]; d: number[] } {
  if (key === 'remove') return { a: rounds.map((r) => r.apiRemove), d: rounds.map((r) => r.directRemove) };
  return { a: rounds.map((r) => r.api), d: rounds.map((r) => r.direct) };
}

/** The median of the rounds' own API/dockerode ratios (each round times both back to back). */
export const pairedRatio = (rounds: RoundTimes[], key: Compared = 'create') => {
  const { a, d } = paired(rounds, key);
  return median(a.map((x, i) => x / d[i]!));
};

/** The figures' note: each path's rounds, their own ratios and the ratio of the medians. */
export function roundsNote(rounds: RoundTimes[], key: Compared = 'create'): string {
  const { a, d } = paired(rounds, key);
  const list = (xs: number[], digits = 2) => xs.map((x) => x.toFixed(digits)).join(', ');
  return (
    `API ${list(a)} s; dockerode ${list(d)} s; the rounds' ratios ${list(
      a.map((x, i) => x / d[i]!),
      3,
    )}` + ` (their median is the ratio); the ratio of the two medians ${(median(a) / median(d)).toFixed(3)}`
  );
}

/** The platform's first batch after it started, next to dockerode's first (no target). */
export const firstBatchFigure = (id: string, text: string, first: RoundTimes): Figure =>
  figure({
    id,
    figure: text,
    value: first.api,
    unit: 's',
    baseline: { name: 'dockerode create + start', value: first.direct },
  });

/** DELETE batch against dockerode's forced removes, by the rounds' paired ratio (no target). */
export const removalFigure = (id: string, text: string, baselineName: string, rounds: RoundTimes[]): Figure =>
  figure({
    id,
    figure: text,
    value: median(rounds.map((r) => r.apiRemove)),
    unit: 's',
    baseline: { name: baselineName, value: median(rounds.map((r) => r.directRemove)) },
    pairedRatio: pairedRatio(rounds, 'remove'),
    note: roundsNote(rounds, 'remove'),
  });

type Operation = { id: string; state: string; error?: unknown };

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** DELETE /v1/batches/{id}, waited for until the operation ended and the pool is empty again. */
async function removeThroughApi(host: TestHost, batchId: string, pool: string): Promise<number> {
  const t0 = performance.now();
  const res = await host.call('bench', 'user', `/v1/batches/${batchId}`, {
    method: 'DELETE',
    headers: { prefer: 'wait=60' },
  });
  let op = (await res.json()) as Operation;
  const deadline = Date.now() + PHASE_MS;
  while ((op.state === 'pending' || op.state === 'running') && Date.now() < deadline) {
    await sleep(50);
    op = (await (await host.call('bench', 'user', `/v1/operations/${op.id}`)).json()) as Operation;
  }
  if (op.state !== 'succeeded')
    throw new Error(`the batch removal ended ${op.state}: ${JSON.stringify(op.error)}`);
  // The addresses come back with container.removed; the next round needs all of them.
  for (;;) {
    const p = (await (await host.call('bench', 'operator', `/v1/pools/${pool}`)).json()) as { used: number };
    if (p.used === 0) break;
    if (Date.now() > deadline) throw new Error(`pool '${pool}' still has ${p.used} addresses in use`);
    await sleep(50);
  }
  return (performance.now() - t0) / 1000;
}

export async function compareRounds(opts: {
  host: TestHost;
  rounds: number;
  count: number;
  baseIp: string;
  nodes: string[];
  /** The same containers for dockerode, per node. */
  work: NodeWork[];
  parallelism: number;
  /** The label the dockerode containers carry (not the platform's). */
  directPlatform: string;
  /** Prefix of the containers' names (each round adds its own). */
  prefix: string;
  /** Prints one line per round. */
  log: (line: string) => void;
}): Promise<Rounds> {
  const dockers: NodeDocker[] = opts.work.map((w) => w.docker);
  const apiPath = async (round: number) => {
    const cpu0 = process.cpuUsage();
    const { seconds, batchId } = await within(
      PHASE_MS * 2,
      'the API batch',
      timeBatch(opts.host, `api${round}-${opts.prefix}`, opts.count, opts.baseIp, opts.nodes),
    );
    const cpu = cpuSeconds(process.cpuUsage(cpu0));
    return { seconds, cpu, remove: await removeThroughApi(opts.host, batchId, 'experiment') };
  };
  const directPath = async (round: number) => {
    const cpu0 = process.cpuUsage();
    const seconds = await within(
      PHASE_MS,
      'the dockerode path',
      directCreate(opts.work, opts.parallelism, opts.directPlatform, `direct${round}-${opts.prefix}`),
    );
    const cpu = cpuSeconds(process.cpuUsage(cpu0));
    const t0 = performance.now();
    await within(
      PHASE_MS,
      'the dockerode removal',
      Promise.all(dockers.map((d) => removeOwned(d, opts.directPlatform, opts.parallelism))),
    );
    return { seconds, cpu, remove: (performance.now() - t0) / 1000 };
  };

  const all: RoundTimes[] = [];
  for (let round = 0; round <= opts.rounds; round++) {
    const apiFirst = round % 2 === 0;
    const a = apiFirst ? await apiPath(round) : undefined;
    const d = await directPath(round);
    const api = a ?? (await apiPath(round));
    all.push({
      api: api.seconds,
      direct: d.seconds,
      apiRemove: api.remove,
      directRemove: d.remove,
      apiCpu: api.cpu,
      directCpu: d.cpu,
    });
    opts.log(
      `${round === 0 ? 'first batch' : `round ${round}`}: API ${api.seconds.toFixed(2)} s (CPU ${api.cpu.toFixed(2)} s),` +
        ` dockerode ${d.seconds.toFixed(2)} s (${(api.seconds / d.seconds).toFixed(3)}×)` +
        `; removal ${api.remove.toFixed(2)} s against ${d.remove.toFixed(2)} s`,
    );
  }
  return { first: all[0]!, rounds: all.slice(1) };
}
