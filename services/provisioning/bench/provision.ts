/**
 * `npm run bench:provision` (or `npx tsx services/provisioning/bench/provision.ts`): a batch of 50
 * on node1 end to end through the API (saga over the in-process bus, quota and ipam mounted,
 * PGlite), against what it is compared with in the same run: the same 50 created straight with
 * dockerode at the same parallelism (create + start), and a sequential `docker run` loop.
 *
 * ROUNDS rounds (BENCH_PROVISION_ROUNDS, 5 by default: one round varies by ±0.05×) alternate the
 * API and dockerode (a fresh platform each API round), so a busy machine weighs on both alike;
 * the figures are the medians. Addresses 10.64.99.160-209 on node1's
 * macvlan experiment network; every phase is bounded; the run exits 0 whether targets hold or not.
 */
import { testPlatform, rigEndpoint } from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';
import { emitFigures, figure } from '../../../bench/lib/figures';
import { startBenchHost, timeBatch } from './bench-host';
import { directCreate, median, removeOwned, sequentialCli, within } from './baselines';

const COUNT = Math.min(50, Number(process.env.BENCH_PROVISION_COUNT ?? 50));
const PARALLELISM = Number(process.env.BENCH_PROVISION_PARALLELISM ?? 4);
const ROUNDS = Math.max(1, Math.min(5, Number(process.env.BENCH_PROVISION_ROUNDS ?? 5)));
const ip = (i: number) => `10.64.99.${160 + i}`;
const PHASE_MS = 60_000;

async function main(): Promise<void> {
  const platform = testPlatform();
  const endpoint = rigEndpoint('node1');
  const docker = new NodeDocker(endpoint, 60_000);
  const network = await docker.ensureNetwork({
    name: 'testbed-experiment',
    parent: endpoint.macvlanParent,
    subnet: '10.64.98.0/23',
    platform,
  });
  const ips = Array.from({ length: COUNT }, (_, i) => ip(i));
  const clean = () => within(PHASE_MS, 'removing the containers', removeOwned(docker, platform));

  const api: number[] = [];
  const direct: number[] = [];
  let cli: number;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const host = await startBenchHost({
        name: 'bench-provision',
        platform,
        range: `${ip(0)}-${ip(49)}`,
        parallelism: PARALLELISM,
      });
      try {
        const batch = timeBatch(host, `api${round}-${platform}`, COUNT, ip(0));
        api.push((await within(PHASE_MS * 2, 'the API batch', batch)).seconds);
      } finally {
        await host.stop();
        await clean();
      }
      direct.push(
        await within(
          PHASE_MS,
          'the dockerode path',
          directCreate([{ docker, network, ips }], PARALLELISM, platform, `direct${round}-${platform}`),
        ),
      );
      await clean();
      console.log(
        `round ${round}: API ${api.at(-1)!.toFixed(2)} s, dockerode ${direct.at(-1)!.toFixed(2)} s`,
      );
    }
    cli = sequentialCli('node1', network, ips, platform, `cli-${platform}`);
  } finally {
    await clean();
  }

  const a = median(api);
  const d = median(direct);
  const where = `${COUNT} on node1, parallelism ${PARALLELISM}, median of ${ROUNDS}`;
  emitFigures([
    figure({
      id: 'provision.node1.api-vs-dockerode',
      figure: `API batch of ${COUNT} (${where}) vs dockerode at the same parallelism`,
      value: a,
      unit: 's',
      baseline: { name: 'dockerode create + start', value: d },
      target: '≤ 1.10×',
      checkRatio: { atMost: 1.1 },
      note: `API rounds ${api.map((s) => s.toFixed(2)).join(', ')} s; dockerode ${direct.map((s) => s.toFixed(2)).join(', ')} s`,
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
