/**
 * Answers outside clients found wrong, each pinned (issue 11): a Docker answer mapped by its
 * meaning, a stopped container's interfaces, strings the database cannot store, and failures that
 * were dropped (an orphan a node would not remove, a claim renewal that failed). PGlite, the
 * in-process bus, the rig's node2. Addresses 10.64.98.200-209 belong to this file alone.
 */
import { randomUUID } from 'node:crypto';
import { createLogger, openDatabase, systemClock } from '@testbed/kit';
import type { TestHost } from '@testbed/test-support/test-host';
import {
  json,
  removeOwned,
  startProvisioningHost,
  withFailingRemovals,
  rigEndpoint,
  testPlatform,
} from '@testbed/test-support/fixtures/provisioning';
import { eventually } from '@testbed/test-support/wait';
import { defaultProvisioningConfig } from '../src';
import type { ProvisioningContext } from '../src/context';
import { NodeDocker } from '../src/docker/node-docker';
import { NodeDockers } from '../src/docker/node-dockers';
import { whileClaimed } from '../src/operations/claims';

jest.setTimeout(120_000);

const platform = testPlatform();
const node2 = new NodeDocker(rigEndpoint('node2'), 30_000);
const faults = withFailingRemovals();
let host: TestHost;
const uma = (path: string, init?: RequestInit) => host.call('uma', 'user', path, init);
type Problem = { status: number; type: string; detail: string; errors?: { path: string; message: string }[] };
type Operation = { id: string; state: string; items: { containerId: string; ip: string }[] };

async function create(name: string): Promise<Operation['items'][number]> {
  const res = await uma('/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=60' },
    ...json({ node: 'node2', name: `${name}-${platform}`, image: 'testbed/busybox' }),
  });
  const op = (await res.json()) as Operation;
  expect(op.state).toBe('succeeded');
  return op.items[0]!;
}

const failures = async (what: string) => {
  const text = await (await fetch(`${host.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`provisioning_failures_total{what="${what}"`));
  return line ? Number(line.split(' ').pop()) : 0;
};

beforeAll(async () => {
  host = await startProvisioningHost({
    name: 'provisioning-wrong-answers',
    range: '10.64.98.200-10.64.98.209',
    platform,
    nodes: ['node2'],
    dockerClientFactory: faults.factory,
    provisioning: { PROVISIONING_RECONCILE_INTERVAL_MS: 500 },
  });
});

afterAll(async () => {
  await host?.stop();
  await removeOwned([node2], platform);
});

test('downloading a path the container does not have is a 404 naming the path, not a 503', async () => {
  const { containerId } = await create('files');
  const res = await uma(`/v1/containers/${containerId}/files?path=/no/such/file`);
  expect(res.status).toBe(404);
  const problem = (await res.json()) as Problem;
  expect(problem.type).toMatch(/\/not-found$/);
  expect(problem.detail).toContain("'/no/such/file'");
  const upload = await uma(`/v1/containers/${containerId}/files?path=/no/such/folder`, {
    method: 'PUT',
    headers: { 'content-type': 'application/x-tar' },
    body: Buffer.alloc(1024),
  });
  expect(upload.status).toBe(404);
  expect(((await upload.json()) as Problem).detail).toContain("'/no/such/folder'");
});

test('changing the interfaces of a stopped container is a 409 saying it must run, not a 503', async () => {
  const { containerId } = await create('stopped');
  expect((await uma(`/v1/containers/${containerId}/stop`, { method: 'POST' })).status).toBe(200);
  for (const [method, path, body] of [
    ['POST', `/v1/containers/${containerId}/interfaces`, {}],
    ['PATCH', `/v1/containers/${containerId}/interfaces/eth1`, { ip: '172.10.0.50' }],
    ['DELETE', `/v1/containers/${containerId}/interfaces/eth1`, undefined],
  ] as const) {
    const res = await uma(path, { method, ...(body ? json(body) : {}) });
    expect({ method, status: res.status }).toEqual({ method, status: 409 });
    const problem = (await res.json()) as Problem;
    expect(problem.type).toMatch(/\/container-not-running$/);
    expect(problem.detail).toMatch(/is stopped: its interfaces change only while it runs/);
  }
  // Running again, it can.
  expect((await uma(`/v1/containers/${containerId}/start`, { method: 'POST' })).status).toBe(200);
  const attached = await uma(`/v1/containers/${containerId}/interfaces`, { method: 'POST', ...json({}) });
  expect(attached.status).not.toBe(409);
});

test('a NUL or a lone surrogate in a field or a key of env is a 422 naming the field, not a 500', async () => {
  const base = { node: 'node2', name: `bad-${platform}`, image: 'testbed/busybox' };
  const cases: [object, string][] = [
    [{ env: { GOOD: 'a\u0000b' } }, 'body.env.GOOD'],
    [{ env: { 'A\u0000B': 'x' } }, 'body.env'],
    [{ env: { ['X\ud800']: 'x' } }, 'body.env'],
    [{ command: ['sh', '\udc00'] }, 'body.command.1'],
  ];
  for (const [extra, path] of cases) {
    const res = await uma('/v1/containers', { method: 'POST', body: JSON.stringify({ ...base, ...extra }) });
    expect({ path, status: res.status }).toEqual({ path, status: 422 });
    const problem = (await res.json()) as Problem;
    expect(problem.errors).toContainEqual({ path, message: expect.stringMatching(/cannot be stored/) });
  }
  const query = await uma(`/v1/containers?owner=${encodeURIComponent('a\u0000b')}`);
  expect(query.status).toBe(422);
  expect(((await query.json()) as Problem).errors![0]!.path).toBe('query.owner');
});

test('an orphan the node will not remove is counted as a failure and tried again, not counted as removed', async () => {
  const network = await eventually(
    async () =>
      ((await (await host.call('op', 'operator', '/v1/nodes/node2')).json()) as { network?: string }).network,
    15_000,
    'node2’s network',
  );
  // The reconcile may see it before this test knows its Docker id: every removal fails meanwhile.
  faults.all.on = true;
  const orphan = await node2.createAndStart({
    id: randomUUID(),
    name: `orphan-${platform}`,
    image: 'testbed/busybox',
    network,
    ip: '10.64.98.209',
    cpuMillis: 100,
    memoryBytes: 32 * 1024 * 1024,
    pidsLimit: 64,
    owner: 'nobody',
    operationId: randomUUID(),
    platform,
    sshPublicKeys: [],
  });
  const before = await failures('orphan-removal');
  await eventually(
    async () => (await failures('orphan-removal')) >= before + 2,
    15_000,
    'two failed passes counted',
  );
  expect(await node2.inspect(orphan.dockerId)).toBeDefined();
  faults.all.on = false;
  await eventually(
    async () => !(await node2.inspect(orphan.dockerId)),
    15_000,
    'the orphan removed once the node lets it',
  );
});

test('a claim renewal that fails is counted and logged, and the next beat tries again', async () => {
  const db = await openDatabase({ url: 'pglite://memory' });
  await db.close(); // every renewal now fails
  const failed: string[] = [];
  const warned: string[] = [];
  const logger = createLogger({ name: 'claims', level: 'silent' });
  logger.warn = ((_obj: unknown, msg: string) => void warned.push(msg)) as typeof logger.warn;
  const ctx: ProvisioningContext = {
    db,
    clock: systemClock,
    logger,
    source: 'provisioning',
    config: { ...defaultProvisioningConfig, PROVISIONING_CLAIM_STALE_MS: 600 },
    dockers: new NodeDockers(1000, ''),
    metrics: {
      observeDockerCall: () => undefined,
      claimRenewalFailed: (kind) => void failed.push(kind),
      orphanRemovalFailed: () => undefined,
      rollbackRemovalFailed: () => undefined,
      operationEnded: () => undefined,
    },
    workerId: 'w',
    kick: () => undefined,
  };
  const answer = await whileClaimed(ctx, { id: randomUUID(), kind: 'image.pull' }, async () => {
    await new Promise((r) => setTimeout(r, 700));
    return 'done';
  });
  expect(answer).toBe('done');
  expect(failed.length).toBeGreaterThanOrEqual(2);
  expect(new Set(failed)).toEqual(new Set(['image.pull']));
  expect(warned[0]).toMatch(/renewing the claim failed; the next beat retries/);
});
