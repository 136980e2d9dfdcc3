/**
 * The in-process platform both provisioning benchmarks time a batch through: ipam, quota and
 * provisioning on PGlite and the in-process bus, node1 registered, quotas out of the way.
 */
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig } from '@testbed/quota';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { rigEndpoint } from '@testbed/test-support/fixtures/provisioning';
import { createProvisioningService, defaultProvisioningConfig } from '../src';

export async function startBenchHost(opts: {
  name: string;
  platform: string;
  /** IPAM_EXPERIMENT_RANGE: the benchmark's own addresses. */
  range: string;
  parallelism: number;
}): Promise<TestHost> {
  const endpoint = rigEndpoint('node1');
  const host = await startTestHost({
    name: opts.name,
    database: 'pglite',
    bus: 'in-process',
    modules: (deps) => [
      createIpamService({
        ...deps,
        source: 'ipam',
        config: { ...defaultIpamConfig, IPAM_EXPERIMENT_RANGE: opts.range },
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
        },
      }),
    ],
  });
  await host.call('op', 'operator', '/v1/nodes', {
    method: 'POST',
    body: JSON.stringify({
      name: 'node1',
      dockerHost: endpoint.dockerHost,
      tls: endpoint.tls,
      macvlanParent: endpoint.macvlanParent,
    }),
  });
  return host;
}

/** One batch of `count` on node1 from `baseIp`, answered once it ended; its seconds and id. */
export async function timeBatch(
  host: TestHost,
  namePrefix: string,
  count: number,
  baseIp: string,
): Promise<{ seconds: number; batchId: string }> {
  const t0 = performance.now();
  const res = await host.call('bench', 'user', '/v1/batches', {
    method: 'POST',
    headers: { prefer: 'wait=120' },
    body: JSON.stringify({ namePrefix, count, image: 'testbed/busybox', nodes: ['node1'], baseIp }),
  });
  const op = (await res.json()) as { state: string; error: unknown; request: { batchId: string } };
  const seconds = (performance.now() - t0) / 1000;
  if (op.state !== 'succeeded') throw new Error(`the batch ended ${op.state}: ${JSON.stringify(op.error)}`);
  return { seconds, batchId: op.request.batchId };
}
