/**
 * `npx tsx services/provisioning/bench/provision-nodes.ts`: a batch of 60 spread over the rig's
 * node1..node3 through the API (saga over the in-process bus, quota and ipam mounted, PGlite),
 * against the same 60 created straight with dockerode on the three nodes at once, at the same
 * parallelism per node (create + start), in the same run.
 *
 * ROUNDS rounds (BENCH_PROVISION_ROUNDS, 5 by default) alternate the two paths; the figures are the
 * medians. The containers sit on a
 * bridge network of the benchmark's own on each node (`testbed-bench-nodes`, 10.66.6.0/24,
 * addresses 10.66.6.10-69: no other test or benchmark uses them), removed with them at the end.
 * Every phase is bounded; the run exits 0 whether the target holds or not.
 */
import { testPlatform, rigEndpoint } from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';
import { emitFigures, figure } from '../../../bench/lib/figures';
import { startBenchHost, timeBatch, type BenchNetwork } from './bench-host';
import { directCreate, median, removeOwned, within, type NodeWork } from './baselines';

const NODES = ['node1', 'node2', 'node3'];
const COUNT = Math.min(60, Number(process.env.BENCH_PROVISION_NODES_COUNT ?? 60));
const PARALLELISM = Number(process.env.BENCH_PROVISION_PARALLELISM ?? 4);
const ROUNDS = Math.max(1, Math.min(5, Number(process.env.BENCH_PROVISION_ROUNDS ?? 5)));
const NETWORK: BenchNetwork = { name: 'testbed-bench-nodes', cidr: '10.66.6.0/24', gateway: '10.66.6.1' };
const ip = (i: number) => `10.66.6.${10 + i}`;
const PHASE_MS = 60_000;

async function main(): Promise<void> {
  const platform = testPlatform();
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
    within(PHASE_MS, 'removing the containers', Promise.all(dockers.map((d) => removeOwned(d, platform))));

  const api: number[] = [];
  const direct: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const host = await startBenchHost({
        name: 'bench-provision-nodes',
        platform,
        range: `${ip(0)}-${ip(COUNT - 1)}`,
        parallelism: PARALLELISM,
        nodes: NODES,
        network: NETWORK,
      });
      try {
        const batch = timeBatch(host, `api${round}-${platform}`, COUNT, ip(0), NODES);
        api.push((await within(PHASE_MS * 2, 'the API batch', batch)).seconds);
      } finally {
        await host.stop();
        await clean();
      }
      direct.push(
        await within(
          PHASE_MS,
          'the dockerode path',
          directCreate(work, PARALLELISM, platform, `direct${round}-${platform}`),
        ),
      );
      await clean();
      console.log(
        `round ${round}: API ${api.at(-1)!.toFixed(2)} s, dockerode ${direct.at(-1)!.toFixed(2)} s`,
      );
    }
  } finally {
    await clean();
    for (const d of dockers) await d.removeNetwork(NETWORK.name).catch(() => undefined);
  }

  const a = median(api);
  const d = median(direct);
  emitFigures([
    figure({
      id: 'provision-nodes.three-nodes.api-vs-dockerode',
      figure: `API batch of ${COUNT} over node1..node3 (parallelism ${PARALLELISM} per node, median of ${ROUNDS}) vs dockerode on the three nodes`,
      value: a,
      unit: 's',
      baseline: { name: 'dockerode create + start, same parallelism per node', value: d },
      target: '≤ 1.15×',
      checkRatio: { atMost: 1.15 },
      note: `API rounds ${api.map((s) => s.toFixed(2)).join(', ')} s; dockerode ${direct.map((s) => s.toFixed(2)).join(', ')} s`,
    }),
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
