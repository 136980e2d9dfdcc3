/**
 * The in-process platform the provisioning benchmarks time a batch through: ipam, quota and
 * provisioning on PGlite and the in-process bus, the rig's nodes registered, quotas out of the way.
 */
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig } from '@testbed/quota';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { rigEndpoint } from '@testbed/test-support/fixtures/provisioning';
import { createProvisioningService, defaultProvisioningConfig } from '../src';

/** A bench network of its own on every node: a bridge with this subnet (no macvlan parent). */
export interface BenchNetwork {
  name: string;
  cidr: string;
  gateway: string;
}

export async function startBenchHost(opts: {
  name: string;
  platform: string;
  /** IPAM_EXPERIMENT_RANGE: the benchmark's own addresses. */
  range: string;
  parallelism: number;
  /** The rig's nodes to register (default node1). */
  nodes?: string[];
  /** Instead of the nodes' macvlan experiment network (10.64.98.0/23), a bridge of the bench's own. */
  network?: BenchNetwork;
}): Promise<TestHost> {
  const nodes = opts.nodes ?? ['node1'];
  const net = opts.network;
  const host = await startTestHost({
    name: opts.name,
    database: 'pglite',
    bus: 'in-process',
    modules: (deps) => [
      createIpamService({
        ...deps,
        source: 'ipam',
        config: {
          ...defaultIpamConfig,
          IPAM_EXPERIMENT_RANGE: opts.range,
          ...(net ? { IPAM_EXPERIMENT_CIDR: net.cidr, IPAM_EXPERIMENT_GATEWAY: net.gateway } : {}),
        },
      }),
      createQuotaService({
        ...deps,
        source: 'quota',
        config: {
          ...defaultQuotaConfig,
          QUOTA_ENFORCE_RESERVATIONS: false,
          QUOTA_MAX_CONTAINERS: 1000,
          QUOTA_MAX_CPU_MILLIS: 100_000,
          QUOTA_MAX_ADDRESSES: 1000,
          QUOTA_MAX_MEMORY_BYTES: 64 * 1024 ** 3,
        },
      }),
      createProvisioningService({
        ...deps,
        source: 'provisioning',
        config: {
          ...defaultProvisioningConfig,
          PROVISIONING_PLATFORM_ID: opts.platform,
          PROVISIONING_PARALLELISM_PER_NODE: opts.parallelism,
          ...(net
            ? {
                PROVISIONING_NETWORK_NAME: net.name,
                PROVISIONING_POOL_NETWORKS: {
                  ...defaultProvisioningConfig.PROVISIONING_POOL_NETWORKS,
                  experiment: { subnet: net.cidr, gateway: net.gateway },
                },
              }
            : {}),
        },
      }),
    ],
  });
  for (const name of nodes) {
    const endpoint = rigEndpoint(name);
    const res = await host.call('op', 'operator', '/v1/nodes', {
      method: 'POST',
      body: JSON.stringify({
        name,
        dockerHost: endpoint.dockerHost,
        tls: endpoint.tls,
        ...(net ? {} : { macvlanParent: endpoint.macvlanParent }),
      }),
    });
    if (res.status >= 300) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
  }
  return host;
}

/** One batch of `count` over `nodes` (spread) from `baseIp`, answered once it ended; its seconds and id. */
export async function timeBatch(
  host: TestHost,
  namePrefix: string,
  count: number,
  baseIp: string,
  nodes: string[] = ['node1'],
): Promise<{ seconds: number; batchId: string }> {
  const t0 = performance.now();
  const res = await host.call('bench', 'user', '/v1/batches', {
    method: 'POST',
    headers: { prefer: 'wait=120' },
    body: JSON.stringify({ namePrefix, count, image: 'testbed/busybox', nodes, baseIp, placement: 'spread' }),
  });
  const op = (await res.json()) as { state: string; error: unknown; request: { batchId: string } };
  const seconds = (performance.now() - t0) / 1000;
  if (op.state !== 'succeeded') throw new Error(`the batch ended ${op.state}: ${JSON.stringify(op.error)}`);
  return { seconds, batchId: op.request.batchId };
}
