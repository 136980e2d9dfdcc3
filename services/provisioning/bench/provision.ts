/**
 * `npm run bench:provision` (or `npx tsx services/provisioning/bench/provision.ts`): a batch of 50
 * on node1 end to end through the API (saga over the in-process bus, quota and ipam mounted,
 * PGlite), against what it is compared with in the same run: the same 50 created straight with
 * dockerode at the same parallelism (create + start), and a sequential `docker run` loop.
 *
 * One platform runs for the whole benchmark (`rounds.ts`). Its first batch is reported on its
 * own. Then come ROUNDS rounds (BENCH_PROVISION_ROUNDS, 7 by default, at most 9; one round varies
 * by ±0.15× on this shared VM). Each round times the API and dockerode, in alternating order, and
 * then each path's removal of what it made. The times are the medians; a ratio against dockerode
 * is the median of the rounds' own ratios. Addresses 10.64.99.160-209 on node1's macvlan
 * experiment network; every phase is bounded; the run exits 0 whether targets hold or not.
 */
import { testPlatform, rigEndpoint } from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';
import { emitFigures, figure } from '../../../bench/lib/figures';
import { startBenchHost } from './bench-host';
import { median, removeOwned, sequentialCli, within } from './baselines';
import {
  compareRounds,
  firstBatchFigure,
  pairedRatio,
  removalFigure,
  roundsNote,
  type Rounds,
} from './rounds';

const COUNT = Math.min(50, Number(process.env.BENCH_PROVISION_COUNT ?? 50));
const PARALLELISM = Number(process.env.BENCH_PROVISION_PARALLELISM ?? 4);
const ROUNDS = Math.max(1, Math.min(9, Number(process.env.BENCH_PROVISION_ROUNDS ?? 7)));
const ip = (i: number) => `10.64.99.${160 + i}`;
const PHASE_MS = 60_000;

async function main(): Promise<void> {
  const platform = testPlatform();
  const directPlatform = `${platform}-direct`;
  const endpoint = rigEndpoint('node1');
  const docker = new NodeDocker(endpoint, 60_000);
  const network = await docker.ensureNetwork({
    name: 'testbed-experiment',
    parent: endpoint.macvlanParent,
    subnet: '10.64.98.0/23',
    platform,
  });
  const ips = Array.from({ length: COUNT }, (_, i) => ip(i));
  const clean = () =>
    within(
      PHASE_MS,
      'removing the containers',
      Promise.all([platform, directPlatform].map((p) => removeOwned(docker, p))),
    );

  let result: Rounds;
  let cli: number;
  const host = await startBenchHost({
    name: 'bench-provision',
    platform,
    range: `${ip(0)}-${ip(COUNT - 1)}`,
    parallelism: PARALLELISM,
  });
  try {
    result = await compareRounds({
      host,
      rounds: ROUNDS,
      count: COUNT,
      baseIp: ip(0),
      nodes: ['node1'],
      work: [{ docker, network, ips }],
      parallelism: PARALLELISM,
      directPlatform,
      prefix: platform,
      log: (line) => console.log(line),
    });
  } finally {
    await host.stop();
    await clean();
  }
  try {
    cli = sequentialCli('node1', network, ips, directPlatform, `cli-${platform}`);
  } finally {
    await clean();
  }

  const { first, rounds } = result;
  const a = median(rounds.map((r) => r.api));
  const d = median(rounds.map((r) => r.direct));
  const where = `${COUNT} on node1, parallelism ${PARALLELISM}, ${ROUNDS} paired rounds`;
  emitFigures([
    figure({
      id: 'provision.node1.api-vs-dockerode',
      figure: `API batch of ${COUNT} (${where}) vs dockerode at the same parallelism`,
      value: a,
      unit: 's',
      baseline: { name: 'dockerode create + start', value: d },
      target: '≤ 1.10×',
      checkRatio: { atMost: 1.1 },
      pairedRatio: pairedRatio(rounds),
      note: roundsNote(rounds),
    }),
    figure({
      id: 'provision.node1.api-vs-cli',
      figure: `API batch of ${COUNT} (${where}) vs a sequential docker run loop`,
      value: a,
      unit: 's',
      baseline: { name: 'sequential docker run (CLI over TLS)', value: cli },
      target: '≤ 0.60×',
      checkRatio: { atMost: 0.6 },
    }),
    figure({
      id: 'provision.node1.api-cpu',
      figure: `The process's CPU through an API batch of ${COUNT} (all threads, median of ${ROUNDS})`,
      value: median(rounds.map((r) => r.apiCpu)),
      unit: 's',
      baseline: {
        name: "the same process's CPU through the dockerode path",
        value: median(rounds.map((r) => r.directCpu)),
      },
      note: `API rounds ${rounds.map((r) => r.apiCpu.toFixed(2)).join(', ')} s`,
    }),
    firstBatchFigure(
      'provision.node1.first-batch',
      `The platform's first batch of ${COUNT} after it started (cold caches) vs dockerode's first`,
      first,
    ),
    removalFigure(
      'provision.node1.remove-vs-dockerode',
      `DELETE /v1/batches/{id} of ${COUNT} until ipam has every address back (${ROUNDS} paired rounds) vs dockerode removing them`,
      `dockerode remove (forced), parallelism ${PARALLELISM}`,
      rounds,
    ),
    figure({
      id: 'provision.node1.api-rate',
      figure: `API batch of ${COUNT} on node1: containers per second`,
      value: COUNT / a,
      unit: '/s',
    }),
  ]);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(
      `bench:provision failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    process.exit(1);
  },
);
