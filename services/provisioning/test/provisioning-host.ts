import type { Clock } from '@testbed/kit';
import { createIpamService, defaultIpamConfig, type IpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig, type QuotaConfig } from '@testbed/quota';
import { startTestHost, type TestHost } from '../../../test/support/test-host';
import { createProvisioningService, defaultProvisioningConfig, type ProvisioningConfig } from '../src';
import type { NodeDocker } from '../src/docker/node-docker';
import { eventually, rigEndpoint } from './rig-nodes';

export const json = (body: unknown) => ({ body: JSON.stringify(body) });

/**
 * A host with ipam, quota and provisioning as the platform runs them, on this test file's own
 * address range and platform label, with the rig's `nodes` registered (and known to quota, which
 * learns them from provisioning's `node.registered`).
 */
export async function startProvisioningHost(opts: {
  name: string;
  /** IPAM_EXPERIMENT_RANGE: the addresses that belong to this test file alone. */
  range: string;
  platform: string;
  nodes: string[];
  database?: 'pglite' | 'postgres';
  bus?: 'in-process' | 'kafka';
  clock?: Clock;
  ipam?: Partial<IpamConfig>;
  quota?: Partial<QuotaConfig>;
  provisioning?: Partial<ProvisioningConfig>;
}): Promise<TestHost> {
  const host = await startTestHost({
    name: opts.name,
    database: opts.database ?? 'pglite',
    bus: opts.bus ?? 'in-process',
    ...(opts.clock ? { clock: opts.clock } : {}),
    modules: (deps) => [
      createIpamService({
        ...deps,
        source: 'ipam',
        config: { ...defaultIpamConfig, IPAM_EXPERIMENT_RANGE: opts.range, ...opts.ipam },
      }),
      createQuotaService({
        ...deps,
        source: 'quota',
        config: { ...defaultQuotaConfig, QUOTA_ENFORCE_RESERVATIONS: false, ...opts.quota },
      }),
      createProvisioningService({
        ...deps,
        source: 'provisioning',
        config: {
          ...defaultProvisioningConfig,
          PROVISIONING_PLATFORM_ID: opts.platform,
          ...opts.provisioning,
        },
      }),
    ],
  });
  await registerRigNodes(host, opts.nodes);
  await eventually(
    async () => {
      const known = await host.db.prisma.$queryRaw<{ name: string }[]>`SELECT name FROM quota.node`;
      return opts.nodes.every((n) => known.some((k) => k.name === n));
    },
    60_000,
    `quota to learn ${opts.nodes.join(', ')}`,
  );
  return host;
}

/** Registers the rig's nodes through the API, as an operator would. */
export async function registerRigNodes(host: TestHost, nodes: string[]): Promise<void> {
  for (const n of nodes) {
    const e = rigEndpoint(n);
    const res = await host.call('operator', 'operator', '/v1/nodes', {
      method: 'POST',
      ...json({ name: n, dockerHost: e.dockerHost, tls: e.tls, macvlanParent: e.macvlanParent }),
    });
    expect(res.status).toBe(201);
  }
}

/** Removes every container of `platform` from the daemons (a test file's clean-up). */
export async function removeOwned(dockers: NodeDocker[], platform: string): Promise<void> {
  for (const d of dockers) for (const c of await d.listOwned(platform)) await d.remove(c.dockerId, true);
}
