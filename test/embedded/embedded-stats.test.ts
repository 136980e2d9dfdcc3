/**
 * The embedded default's statistics: the in-process agent samples the local daemon (here the
 * rig's node3, standing in for a laptop's daemon) and the stats service, mounted in the same
 * process, shows its containers; readiness says how the agent reads. A container of this file's
 * own runs on node3 without a network; nothing is sent anywhere.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { loadOrCreateLocalKey, signLocalToken } from '@testbed/kit';
import { embeddedConfigSchema } from '../../services/embedded/src/config';
import { startEmbedded, type EmbeddedPlatform } from '../../services/embedded/src/start-embedded';
import { randomSuffix, rigEnv } from '../support/rig';

jest.setTimeout(120_000);

const env = rigEnv('NODE3_DOCKER_SOCKET');
const docker = new Docker({ socketPath: env.NODE3_DOCKER_SOCKET! });
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-stats-'));
const label = `embedded-stats-${randomSuffix()}`;
let platform: EmbeddedPlatform | undefined;

afterAll(async () => {
  await platform?.host.stop();
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } }))
    await docker.getContainer(c.Id).remove({ force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("the local daemon's containers show in the overview of the embedded default, within seconds", async () => {
  const config = embeddedConfigSchema.parse({
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    DATABASE_URL: 'pglite://memory',
    DOCKER_HOST: `unix://${env.NODE3_DOCKER_SOCKET}`,
    PROVISIONING_LOCAL_MACVLAN_PARENT: env.NODE3_MACVLAN_PARENT,
    PROVISIONING_PLATFORM_ID: label,
    IPAM_EXPERIMENT_RANGE: '10.64.99.230-10.64.99.239',
    NODE_AGENT_INTERVAL_MS: '1000',
  });
  platform = await startEmbedded(config);
  const url = platform.host.url;
  const token = await signLocalToken(await loadOrCreateLocalKey(dataDir), {
    subject: 'ops',
    role: 'operator',
    issuer: 'testbed-local',
    audience: 'testbed',
  });
  const container = await docker.createContainer({
    Image: 'testbed/busybox',
    Cmd: ['sh', '-c', 'while :; do :; done'],
    Labels: { [label]: 'yes' },
    HostConfig: { NetworkMode: 'none', NanoCpus: 200_000_000, Memory: 32 * 1024 * 1024 },
  });
  await container.start();
  const seen = await until(
    async () => {
      const res = await fetch(`${url}/v1/stats/containers?node=local`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as {
        items: { dockerId: string; cpuPercent: number | null; memoryLimitBytes?: number }[];
      };
      const item = body.items.find((i) => i.dockerId === container.id && i.cpuPercent !== null);
      return item;
    },
    30_000,
    'the container in the overview with a CPU figure',
  );
  // Capped at 0.2 CPU and 32 MiB, as the agent read them from the container's cgroup.
  expect(seen.cpuPercent).toBeGreaterThan(10);
  expect(seen.cpuPercent).toBeLessThan(25);
  expect(seen.memoryLimitBytes).toBe(32 * 1024 * 1024);
  const ready = (await (await fetch(`${url}/readyz`)).json()) as {
    checks: Record<string, { ok: boolean; detail?: string }>;
  };
  expect(ready.checks['node-agent']).toMatchObject({
    ok: true,
    detail: expect.stringMatching(/reading cgroup-v1/),
  });
});
