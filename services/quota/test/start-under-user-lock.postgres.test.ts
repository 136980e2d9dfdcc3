/**
 * A started container is counted under its owner's lock, which the counting statement takes
 * itself (on the rig's Postgres, in-process bus): while another transaction holds the lock, as an
 * admission of that user does while it reads the usage, the `container.started` delivery waits and
 * counts nothing; when the lock is let go, the container is counted, once. This test's own
 * transaction X takes the lock the way quota does (user-store.ts, lockUser).
 */
import pg from 'pg';
import { enqueueEvent } from '@testbed/kit';
import { backendsWaitingBehind } from '@testbed/test-support/lock-waiters';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { PROVISIONING_EVENTS } from '@testbed/provisioning/src/events/contracts';
import { containerStarted } from '@testbed/test-support/fixtures/events';
import { createQuotaService, defaultQuotaConfig } from '../src';

let t: TestHost;
let x: pg.Client;

beforeAll(async () => {
  t = await startTestHost({
    name: 'quota_start_lock',
    database: 'postgres',
    bus: 'in-process',
    modules: (deps) => [
      createQuotaService({
        ...deps,
        config: { ...defaultQuotaConfig, QUOTA_KNOWN_NODES: 'node1', QUOTA_ENFORCE_RESERVATIONS: false },
      }),
    ],
  });
  expect(
    (await t.call('ops', 'operator', '/v1/users/frank/quota', { method: 'PUT', body: '{}' })).status,
  ).toBe(201);
  x = new pg.Client({ connectionString: t.databaseUrl });
  await x.connect();
}, 120_000);
afterAll(async () => {
  await x?.end();
  await t?.stop();
});

const inUse = async () =>
  (
    (await (await t.call('frank', 'user', '/v1/users/frank/usage')).json()) as {
      containers: { inUse: number };
    }
  ).containers.inUse;

test("a container start waits for its owner's lock, then counts the container once", async () => {
  await x.query('BEGIN');
  await x.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, ['quota:user:frank']);
  await t.db.prisma.$transaction((tx) =>
    enqueueEvent(tx, {
      source: 'provisioning',
      topic: PROVISIONING_EVENTS,
      key: 'frank',
      type: 'container.started',
      data: containerStarted({ containerId: 'c-locked', owner: 'frank', node: 'node1' }),
    }),
  );
  await backendsWaitingBehind(t.db.pgPool!, x, "the start waiting on its owner's lock");
  expect(await inUse()).toBe(0);
  await x.query('COMMIT');
  const deadline = Date.now() + 10_000;
  while ((await inUse()) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(await inUse()).toBe(1);
  const rows = await t.db.pgPool!.query(`SELECT container_id FROM quota.container_usage WHERE "user" = $1`, [
    'frank',
  ]);
  expect(rows.rows).toEqual([{ container_id: 'c-locked' }]);
}, 60_000);
