/**
 * The saga across Kafka and Postgres (the rig's), quota and ipam mounted beside provisioning:
 * commands and answers travel through real topics. Addresses 10.64.99.210-219.
 */
import type { TestHost } from '@testbed/test-support/test-host';
import { eventually } from '@testbed/test-support/wait';
import {
  rigEndpoint,
  testPlatform,
  startProvisioningHost,
} from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';

jest.setTimeout(120_000);

const platform = testPlatform();
const docker = new NodeDocker(rigEndpoint('node3'), 20_000);
let host: TestHost;

beforeAll(async () => {
  host = await startProvisioningHost({
    name: 'provisioning-kafka',
    range: '10.64.99.210-10.64.99.219',
    platform,
    nodes: ['node3'],
    database: 'postgres',
    bus: 'kafka',
  });
});

afterAll(async () => {
  await host?.stop();
  for (const c of await docker.listOwned(platform)) await docker.remove(c.dockerId, true);
});

test('creates a container through quota and ipam over Kafka, and a second one past the quota fails holding nothing', async () => {
  const res = await host.call('carol', 'user', '/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    body: JSON.stringify({
      node: 'node3',
      name: `k-${platform}`,
      image: 'testbed/busybox',
      memoryBytes: 3 * 1024 ** 3,
    }),
  });
  const operation = (await res.json()) as {
    state: string;
    items: { ip: string; containerId: string }[];
    error: unknown;
  };
  expect(operation).toMatchObject({ state: 'succeeded', error: null });
  expect(operation.items[0]!.ip).toBe('10.64.99.210');

  const over = await host.call('carol', 'user', '/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    body: JSON.stringify({
      node: 'node3',
      name: `k2-${platform}`,
      image: 'testbed/busybox',
      memoryBytes: 3 * 1024 ** 3,
    }),
  });
  const refused = (await over.json()) as { state: string; error: { status: number; detail: string } };
  expect(refused.state).toBe('failed');
  expect(refused.error.status).toBe(409);
  await eventually(
    async () => {
      const items = (
        (await (await host.call('op', 'operator', '/v1/pools/experiment/allocations')).json()) as {
          items: { ip: string; state: string }[];
        }
      ).items;
      return items.length === 1 && items[0]!.state === 'bound';
    },
    15_000,
    'one bound address, nothing held',
  );
});
