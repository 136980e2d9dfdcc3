/**
 * `npm run bench:provision`: a batch of 50 on node1 end to end through the API (saga over the
 * in-process bus, quota and ipam mounted, PGlite), and in the same run the same 50 created straight
 * with dockerode at the same parallelism, and a sequential `docker run` loop; prints the ratios.
 * Addresses 10.64.99.160-209; every wait is bounded.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rigEnv } from '@testbed/test-support/rig';
import { rigEndpoint, testPlatform } from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';
import { startBenchHost, timeBatch } from './bench-host';

const COUNT = Number(process.env.BENCH_PROVISION_COUNT ?? 50);
const PARALLELISM = Number(process.env.BENCH_PROVISION_PARALLELISM ?? 4);
const ip = (i: number) => `10.64.99.${160 + i}`;

async function main(): Promise<void> {
  if (COUNT > 50) throw new Error('BENCH_PROVISION_COUNT is at most 50 (the address range of the bench)');
  const platform = testPlatform();
  const endpoint = rigEndpoint('node1');
  const docker = new NodeDocker(endpoint, 60_000);
  const network = await docker.ensureNetwork({
    name: 'testbed-experiment',
    parent: endpoint.macvlanParent,
    subnet: '10.64.98.0/23',
    platform,
  });
  const clean = async () => {
    for (const c of await docker.listOwned(platform)) await docker.remove(c.dockerId, true);
  };

  // 1. Through the API.
  const host = await startBenchHost({
    name: 'bench-provision',
    platform,
    range: `${ip(0)}-${ip(49)}`,
    parallelism: PARALLELISM,
  });
  let api: number;
  try {
    api = (await timeBatch(host, `api-${platform}`, COUNT, ip(0))).seconds;
  } finally {
    await host.stop();
    await clean();
  }

  // 2. The same containers straight through dockerode, same parallelism.
  const t1 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLELISM }, async () => {
      while (next < COUNT) {
        const i = next++;
        await docker.createAndStart({
          id: randomUUID(),
          name: `direct-${platform}-${i + 1}`,
          image: 'testbed/busybox',
          network,
          ip: ip(i),
          cpuMillis: 100,
          memoryBytes: 64 * 1024 * 1024,
          pidsLimit: 256,
          owner: 'bench',
          operationId: randomUUID(),
          platform,
          sshPublicKeys: [],
        });
      }
    }),
  );
  const direct = (performance.now() - t1) / 1000;
  await clean();

  // 3. A sequential `docker run` loop with the CLI over TLS.
  const env = rigEnv('DOCKER_TLS_CA');
  const cliEnv = {
    ...process.env,
    DOCKER_HOST: endpoint.dockerHost,
    DOCKER_TLS_VERIFY: '1',
    DOCKER_CERT_PATH: env.DOCKER_TLS_CA!.replace(/\/ca\.pem$/, ''),
  };
  const t2 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    execFileSync(
      'docker',
      [
        'run',
        '-d',
        '--name',
        `cli-${platform}-${i + 1}`,
        '--label',
        `testbed.platform=${platform}`,
        '--network',
        network,
        '--ip',
        ip(i),
        'testbed/busybox',
        'sleep',
        '600',
      ],
      {
        env: cliEnv,
        stdio: 'ignore',
        timeout: 60_000,
      },
    );
  }
  const cli = (performance.now() - t2) / 1000;
  await clean();

  const row = (name: string, s: number) =>
    `${name.padEnd(44)} ${s.toFixed(2).padStart(7)} s  ${(COUNT / s).toFixed(1).padStart(5)} containers/s`;
  console.log(`${COUNT} containers on node1, parallelism ${PARALLELISM}`);
  console.log(row('API batch (saga: quota, ipam, Docker)', api));
  console.log(row('dockerode directly, same parallelism', direct));
  console.log(row('sequential docker run (CLI over TLS)', cli));
  console.log(
    `API / direct = ${(api / direct).toFixed(2)}; API / sequential CLI = ${(api / cli).toFixed(2)}`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:provision failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
