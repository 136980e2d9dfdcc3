/**
 * `npx tsx services/provisioning/bench/provision-nodes.ts`: a batch of 60 spread over the rig's
 * node1..node3 through the API (saga over the in-process bus, quota and ipam mounted, PGlite),
 * against the same 60 created straight with dockerode on the three nodes at once, at the same
 * parallelism per node (create + start), in the same run.
 *
 * One platform runs throughout; its first batch is reported apart, then ROUNDS rounds
 * (BENCH_PROVISION_ROUNDS, 7 by default, at most 9) alternate the two paths' order (`rounds.ts`);
 * the times are the medians, a ratio the median of the rounds' own. The containers sit on a bridge
 * network of the benchmark's own on each node (`testbed-bench-nodes`, 10.66.6.0/24, addresses
 * 10.66.6.10-69: no other test or benchmark uses them), removed with them at the end. Every phase
 * is bounded; the run exits 0 whether the target holds or not.
 */
import { testPlatform, rigEndpoint } from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';
import { emitFigures, figure } from '../../../bench/lib/figures';
import { startBenchHost, type BenchNetwork } from './bench-host';
import { median, removeOwned, within, type NodeWork } from './baselines';
import {
  compareRounds,
  firstBatchFigure,
  pairedRatio,
  removalFigure,
  roundsNote,
  type Rounds,
} from './rounds';

const NODES = ['node1', 'node2', 'node3'];
const COUNT = Math.min(60, Number(process.env.BENCH_PROVISION_NODES_COUNT ?? 60));
const PARALLELISM = Number(process.env.BENCH_PROVISION_PARALLELISM ?? 4);
const ROUNDS = Math.max(1, Math.min(9, Number(process.env.BENCH_PROVISION_ROUNDS ?? 7)));
const NETWORK: BenchNetwork = { name: 'testbed-bench-nodes', cidr: '10.66.6.0/24', gateway: '10.66.6.1' };
const ip = (i: number) => `10.66.6.${10 + i}`;
const PHASE_MS = 60_000;

async function main(): Promise<void> {
  const platform = testPlatform();
  const directPlatform = `${platform}-direct`;
  const dockers = NODES.map((n) => new NodeDocker(rigEndpoint(n), 60_000));
  // Spread placement: item i on node i mod 3, addresses ascending by item.
  const work: NodeWork[] = [];
  for (const [k, docker] of dockers.entries()) {
    const network = await docker.ensureNetwork({
      name: NETWORK.name,
      subnet: NETWORK.cidr,
      gateway: NETWORK.gateway,
      platform,
    });
    const ips = Array.from({ length: COUNT }, (_, i) => i)
      .filter((i) => i % NODES.length === k)
      .map(ip);
    work.push({ docker, network, ips });
  }
  const clean = () =>
    within(
      PHASE_MS,
      'removing the containers',
      Promise.all(dockers.flatMap((d) => [platform, directPlatform].map((p) => removeOwned(d, p)))),
    );

  let result: Rounds;
  try {
    const host = await startBenchHost({
      name: 'bench-provision-nodes',
      platform,
      range: `${ip(0)}-${ip(COUNT - 1)}`,
      parallelism: PARALLELISM,
      nodes: NODES,
      network: NETWORK,
    });
    try {
      result = await compareRounds({
        host,
        rounds: ROUNDS,
        count: COUNT,
        baseIp: ip(0),
        nodes: NODES,
        work,
        parallelism: PARALLELISM,
        directPlatform,
        prefix: platform,
        log: (line) => console.log(line),
      });
    } finally {
      await host.stop();
    }
  } finally {
    await clean();
    for (const d of dockers) await d.removeNetwork(NETWORK.name).catch(() => undefined);
  }

  const { first, rounds } = result;
  const a = median(rounds.map((r) => r.api));
  const d = median(rounds.map((r) => r.direct));
  emitFigures([
    figure({
      id: 'provision-nodes.three-nodes.api-vs-dockerode',
      figure: `API batch of ${COUNT} over node1..node3 (parallelism ${PARALLELISM} per node, ${ROUNDS} paired rounds) vs dockerode on the three nodes`,
      value: a,
      unit: 's',
      baseline: { name: 'dockerode create + start, same parallelism per node', value: d },
      target: '≤ 1.15×',
      checkRatio: { atMost: 1.15 },
      pairedRatio: pairedRatio(rounds),
      note: roundsNote(rounds),
    }),
    firstBatchFigure(
      'provision-nodes.three-nodes.first-batch',
      `The platform's first batch of ${COUNT} over three nodes after it started vs dockerode's first`,
      first,
    ),
    removalFigure(
      'provision-nodes.three-nodes.remove-vs-dockerode',
      `DELETE /v1/batches/{id} of ${COUNT} over three nodes until ipam has every address back (${ROUNDS} paired rounds) vs dockerode removing them`,
      `dockerode remove (forced), parallelism ${PARALLELISM} per node`,
      rounds,
    ),
    figure({
      id: 'provision-nodes.three-nodes.api-rate',
      figure: `API batch of ${COUNT} over three nodes: containers per second`,
      value: COUNT / a,
      unit: '/s',
    }),
  ]);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(
      `bench:provision-nodes failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    process.exit(1);
  },
);
