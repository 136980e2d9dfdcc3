/**
 * Cancel, on the rig's Postgres and Kafka (the concurrency it depends on: row locks between the
 * runner, the events watcher and the reconcile; quota's user lock held from a second session):
 * a running batch rolled back, a pending saga ended at once, and a rollback whose removals the
 * node refuses, which must not announce what it did not do. Addresses 10.64.98.210-229 belong to
 * this file alone.
 */
import pg from 'pg';
import { QUOTA_EVENTS } from '@testbed/quota';
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
import { PROVISIONING_EVENTS } from '../src';
import { NodeDocker } from '../src/docker/node-docker';

jest.setTimeout(180_000);

const platform = testPlatform();
const dockers = { node1: new NodeDocker(rigEndpoint('node1'), 30_000) };
const faults = withFailingRemovals();
let host: TestHost;
let lockSession: pg.Client | undefined;

const as = (user: string) => (path: string, init?: RequestInit) => host.call(user, 'user', path, init);
const op = (path: string, init?: RequestInit) => host.call('operator', 'operator', path, init);

type Item = {
  name: string;
  node: string;
  ip: string;
  state: string;
  containerId: string;
  error: string | null;
};
type Operation = { id: string; state: string; error: Record<string, unknown> | null; items: Item[] };
type Container = { id: string; state: string };
type Use = { limit: number; inUse: number; held: number };
type Usage = { containers: Use; cpuMillis: Use; memoryBytes: Use; addresses: Use };

const usage = async (user: string) => (await op(`/v1/users/${user}/usage`)).json() as Promise<Usage>;
const allocationsOf = async (owner: string) =>
  (
    (await (await op(`/v1/pools/experiment/allocations?owner=${owner}`)).json()) as {
      items: { ip: string; state: string; containerId: string | null }[];
    }
  ).items;
const nothingUsedOrHeld = (u: Usage) =>
  [u.containers, u.cpuMillis, u.memoryBytes, u.addresses].every((x) => x.inUse === 0 && x.held === 0);

/** Event types the outbox holds for one key of a topic, in order. */
async function eventTypes(topic: string, key: string): Promise<string[]> {
  const rows = await host.db.prisma.$queryRaw<{ type: string }[]>`
    SELECT event->>'type' AS type FROM bus.outbox WHERE topic = ${topic} AND key = ${key} ORDER BY seq`;
  return rows.map((r) => r.type);
}

/** A batch of `count` on node1 (one create at a time), once `running` of its containers run. */
async function batchUnderWay(user: string, count: number, running: number): Promise<Operation> {
  const res = await as(user)('/v1/batches', {
    method: 'POST',
    ...json({ namePrefix: `${user}-${platform}`, count, image: 'testbed/busybox', nodes: ['node1'] }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as Operation;
  return eventually(
    async () => {
      const o = (await (await as(user)(`/v1/operations/${id}`)).json()) as Operation;
      if (o.state !== 'running' && o.state !== 'pending')
        throw new Error(`operation ${o.state} before cancel`);
      return o.items.filter((i) => i.state === 'running').length >= running ? o : undefined;
    },
    30_000,
    `${running} containers of the batch running`,
  );
}

beforeAll(async () => {
  host = await startProvisioningHost({
    name: 'provisioning_cancel',
    range: '10.64.98.210-10.64.98.229',
    platform,
    nodes: ['node1'],
    database: 'postgres',
    bus: 'kafka',
    dockerClientFactory: faults.factory,
    // One create at a time per node: a batch runs long enough to be cancelled midway.
    provisioning: { PROVISIONING_PARALLELISM_PER_NODE: 1, PROVISIONING_RECONCILE_INTERVAL_MS: 1000 },
  });
});

afterAll(async () => {
  await lockSession?.end().catch(() => undefined);
  await host?.stop();
  await removeOwned(Object.values(dockers), platform);
});

describe('cancel', () => {
  test('a running batch ends cancelled: nothing of it stays on the daemon, in ipam or in quota', async () => {
    const carol = as('carol');
    const res = await carol('/v1/batches', {
      method: 'POST',
      ...json({ namePrefix: `c-${platform}`, count: 8, image: 'testbed/busybox', nodes: ['node1'] }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Operation;
    // Cancel once some containers run and the rest are still to be made.
    const midway = await eventually(
      async () => {
        const o = (await (await carol(`/v1/operations/${id}`)).json()) as Operation;
        const running = o.items.filter((i) => i.state === 'running').length;
        if (o.state !== 'running' && o.state !== 'pending')
          throw new Error(`operation ${o.state} before cancel`);
        return running >= 2 ? o : undefined;
      },
      30_000,
      'two containers of the batch running',
    );
    expect(midway.items.filter((i) => i.state === 'creating').length).toBeGreaterThan(0);
    const ips = midway.items.map((i) => i.ip);

    const cancel = await carol(`/v1/operations/${id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(202);
    const done = (await (
      await carol(`/v1/operations/${id}`, { headers: { prefer: 'wait=60' } })
    ).json()) as Operation;
    expect(done.state).toBe('cancelled');
    expect(done.items).toHaveLength(8);
    expect(done.items.every((i) => i.state === 'failed' && i.error === 'cancelled')).toBe(true);

    expect((await dockers.node1.listOwned(platform)).filter((c) => c.operationId === id)).toEqual([]);
    const listed = (await (await carol('/v1/containers')).json()) as { items: Container[] };
    expect(listed.items).toEqual([]);
    await eventually(
      async () => {
        const held = (await allocationsOf('carol')).filter((a) => ips.includes(a.ip));
        return held.length === 0;
      },
      10_000,
      'the batch’s addresses released',
    );
    const u = await eventually(
      async () => {
        const x = await usage('carol');
        return nothingUsedOrHeld(x) ? x : undefined;
      },
      10_000,
      'carol’s usage and holds back to zero',
    );
    expect(u.containers).toMatchObject({ inUse: 0, held: 0 });
  });

  test('a pending saga (quota has not answered) ends cancelled at once; quota’s late grant is released', async () => {
    // quota decides a user's admissions under an advisory lock of that user: holding it from a
    // second session keeps quota from answering for as long as the test wants.
    lockSession = new pg.Client({ connectionString: host.databaseUrl });
    await lockSession.connect();
    await lockSession.query(`SELECT pg_advisory_lock(hashtext('quota:user:gina'))`);
    const gina = as('gina');
    const res = await gina('/v1/containers', {
      method: 'POST',
      ...json({ node: 'node1', name: `pending-${platform}`, image: 'testbed/busybox' }),
    });
    expect(res.status).toBe(202);
    const pending = (await res.json()) as Operation;
    expect(pending.state).toBe('pending');
    await eventually(
      async () => {
        const r = await lockSession!.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
           WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted`,
        );
        return r.rows[0]!.n > 0;
      },
      10_000,
      'quota waiting on gina’s lock with the admission request',
    );

    const cancel = await gina(`/v1/operations/${pending.id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(202);
    expect(((await cancel.json()) as Operation).state).toBe('cancelled');

    await lockSession.query(`SELECT pg_advisory_unlock(hashtext('quota:user:gina'))`);
    await eventually(
      async () => (await eventTypes(QUOTA_EVENTS, 'gina')).includes('quota.reserve.granted'),
      15_000,
      'quota’s grant, after the cancel',
    );
    await eventually(async () => nothingUsedOrHeld(await usage('gina')), 10_000, 'gina’s hold released');
    const after = (await (await gina(`/v1/operations/${pending.id}`)).json()) as Operation;
    expect(after.state).toBe('cancelled');
    expect(await allocationsOf('gina')).toEqual([]);
    expect((await dockers.node1.listOwned(platform)).filter((c) => c.operationId === pending.id)).toEqual([]);
  });

  test('a rollback whose removals the node refuses keeps those containers recorded and announces no removal', async () => {
    const midway = await batchUnderWay('rosa', 6, 2);
    const onNode = (await dockers.node1.listOwned(platform)).filter((c) => c.operationId === midway.id);
    const stuck = onNode.filter((c) => c.state === 'running');
    expect(stuck.length).toBeGreaterThanOrEqual(2);
    // The node refuses to remove what already runs: the rollback cannot undo it.
    for (const c of stuck) faults.failing.add(c.dockerId);
    const failedBefore = await rollbackFailures();

    expect((await as('rosa')(`/v1/operations/${midway.id}`, { method: 'DELETE' })).status).toBe(202);
    const done = (await (
      await as('rosa')(`/v1/operations/${midway.id}`, { headers: { prefer: 'wait=60' } })
    ).json()) as Operation;
    expect(done.state).toBe('cancelled');
    const notRemoved = (done.error!.notRemoved as { containerId: string; error: string }[]).map(
      (n) => n.containerId,
    );
    expect(notRemoved.sort()).toEqual(stuck.map((c) => c.containerId).sort());
    expect(done.error!.detail).toMatch(/could not be removed and still run/);
    expect(await rollbackFailures()).toBeGreaterThanOrEqual(failedBefore + stuck.length);

    // They are still there, still the user's, still holding their addresses; nothing said otherwise.
    for (const c of stuck) {
      expect(await eventTypes(PROVISIONING_EVENTS, c.containerId)).toEqual(['container.started']);
      const view = (await (await as('rosa')(`/v1/containers/${c.containerId}`)).json()) as Container;
      expect(view.state).toBe('running');
    }
    const bound = (await allocationsOf('rosa')).filter((a) => a.state === 'bound').map((a) => a.containerId);
    for (const c of stuck) expect(bound).toContain(c.containerId);

    // Once the node lets them go, the user removes them as any container; their addresses follow.
    faults.failing.clear();
    for (const c of stuck)
      expect(
        (await as('rosa')(`/v1/containers/${c.containerId}?force=true`, { method: 'DELETE' })).status,
      ).toBe(204);
    await eventually(
      async () => (await allocationsOf('rosa')).length === 0,
      15_000,
      'rosa’s addresses released',
    );
    await eventually(async () => nothingUsedOrHeld(await usage('rosa')), 15_000, 'rosa’s usage back to zero');
  });
});

async function rollbackFailures(): Promise<number> {
  const text = await (await fetch(`${host.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('provisioning_failures_total{what="rollback-removal"'));
  return line ? Number(line.split(' ').pop()) : 0;
}
