/**
 * What the provisioning benchmarks compare the API with, in the same run: the same containers
 * created straight with dockerode (the same create options, then start; nothing else) at the same
 * parallelism per node, and a sequential `docker run` loop with the CLI over TLS. Every wait is
 * bounded; `removeOwned` clears a platform's containers off a node between the paths.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rigEnv } from '@testbed/test-support/rig';
import { rigEndpoint } from '@testbed/test-support/fixtures/provisioning';
import { containerCreateOptions } from '../src/docker/container-spec';
import { NodeDocker } from '../src/docker/node-docker';

export const IMAGE = 'testbed/busybox';

/** Rejects when `p` has not settled within `ms` (every phase of a benchmark is bounded). */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface NodeWork {
  docker: NodeDocker;
  network: string;
  /** The addresses of this node's containers, in order. */
  ips: string[];
}

/** dockerode directly: per node `parallelism` at a time, create (same options as the platform) then start. */
export async function directCreate(
  nodes: NodeWork[],
  parallelism: number,
  platform: string,
  prefix: string,
): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    nodes.map(async ({ docker, network, ips }) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(parallelism, ips.length) }, async () => {
          while (next < ips.length) {
            const i = next++;
            const options = containerCreateOptions(
              {
                id: randomUUID(),
                name: `${prefix}-${docker.node}-${i + 1}`,
                image: IMAGE,
                network,
                ip: ips[i]!,
                cpuMillis: 100,
                memoryBytes: 64 * 1024 * 1024,
                pidsLimit: 256,
                owner: 'bench',
                operationId: randomUUID(),
                platform,
                sshPublicKeys: [],
              },
              docker.node,
            );
            const container = await docker.docker.createContainer(options);
            await container.start();
          }
        }),
      );
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** A sequential `docker run -d` loop on one node with the CLI over TLS. */
export function sequentialCli(
  node: string,
  network: string,
  ips: string[],
  platform: string,
  prefix: string,
): number {
  const endpoint = rigEndpoint(node);
  const env = rigEnv('DOCKER_TLS_CA');
  const cliEnv = {
    ...process.env,
    DOCKER_HOST: endpoint.dockerHost,
    DOCKER_TLS_VERIFY: '1',
    DOCKER_CERT_PATH: env.DOCKER_TLS_CA!.replace(/\/ca\.pem$/, ''),
  };
  const t0 = performance.now();
  ips.forEach((ip, i) => {
    execFileSync(
      'docker',
      [
        'run',
        '-d',
        '--name',
        `${prefix}-${i + 1}`,
        '--label',
        `testbed.platform=${platform}`,
        '--network',
        network,
        '--ip',
        ip,
        IMAGE,
        'sleep',
        '600',
      ],
      { env: cliEnv, stdio: 'ignore', timeout: 60_000 },
    );
  });
  return (performance.now() - t0) / 1000;
}

/** Every container of `platform` off the node (forced), `parallelism` at a time. */
export async function removeOwned(docker: NodeDocker, platform: string, parallelism = 4): Promise<void> {
  const owned = await docker.listOwned(platform);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (next < owned.length) await docker.remove(owned[next++]!.dockerId, true);
    }),
  );
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
