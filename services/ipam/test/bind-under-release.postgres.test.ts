/**
 * Binding an address takes its segment's lock inside its one statement (on the rig's Postgres):
 * a release that holds the lock, as the expiry pass does between reading "still held and
 * expired" and deleting, ends first, and the bind then sees what the release left. This test's
 * own transaction X plays the release: it takes the segment's lock the way ipam does and, in the
 * first case, deletes the allocation before it commits.
 */
import pg from 'pg';
import { backendsWaitingBehind } from '@testbed/test-support/lock-waiters';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createIpamService, defaultIpamConfig } from '../src';

let t: TestHost;
let token: string;
let x: pg.Client;

const SEGMENT = 'bind-lock';
const ip = (n: number) => `10.203.1.${n}`;

beforeAll(async () => {
  t = await startTestHost({
    name: 'ipam_bind_under_release',
    database: 'postgres',
    bus: 'in-process',
    modules: (deps) => [
      createIpamService({ ...deps, config: { ...defaultIpamConfig, IPAM_SEED_POOLS: false } }),
    ],
  });
  token = await t.token('bind-test', 'operator');
  const res = await call('POST', '/v1/pools', {
    name: 'bindlock',
    cidr: '10.203.1.0/24',
    rangeStart: ip(10),
    rangeEnd: ip(20),
    gateway: ip(1),
    segment: SEGMENT,
  });
  expect(res.status).toBe(201);
  x = new pg.Client({ connectionString: t.databaseUrl });
  await x.connect();
}, 120_000);
afterAll(async () => {
  await x?.end();
  await t?.stop();
});

function call(method: string, pathname: string, body?: unknown) {
  return fetch(t.url + pathname, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

const allocate = async (n: number) => {
  const res = await call('POST', '/v1/pools/bindlock/allocations', { ip: ip(n), owner: 'alice' });
  expect(res.status).toBe(201);
};
const bind = (n: number, containerId: string) =>
  call('PATCH', `/v1/pools/bindlock/allocations/${ip(n)}`, { state: 'bound', containerId });

/** X takes the segment's lock as ipam's releases do (allocation-store.ts, lockSegment). */
const lockAsRelease = () => x.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`ipam:${SEGMENT}`]);

const rowOf = async (n: number) =>
  (
    await t.db.pgPool!.query<{ state: string; container_id: string | null }>(
      `SELECT state::text AS state, container_id FROM ipam.allocation WHERE segment = $1 AND ip = $2`,
      [SEGMENT, ip(n)],
    )
  ).rows;

test('a release that holds the lock and deletes the address ends first: the bind answers 404 and binds nothing', async () => {
  await allocate(10);
  await x.query('BEGIN');
  await lockAsRelease();
  await x.query(`DELETE FROM ipam.allocation WHERE segment = $1 AND ip = $2`, [SEGMENT, ip(10)]);
  const bound = bind(10, 'c-late');
  await backendsWaitingBehind(t.db.pgPool!, x, 'the bind waiting on the segment lock');
  await x.query('COMMIT');
  const res = await bound;
  expect(res.status).toBe(404);
  expect(await res.json()).toMatchObject({ resource: 'allocation', id: `bindlock/${ip(10)}` });
  expect(await rowOf(10)).toEqual([]);
}, 60_000);

test('a lock holder that leaves the address alone: the bind waits for it, then binds', async () => {
  await allocate(11);
  await x.query('BEGIN');
  await lockAsRelease();
  const bound = bind(11, 'c-11');
  await backendsWaitingBehind(t.db.pgPool!, x, 'the bind waiting on the segment lock');
  await x.query('COMMIT');
  const res = await bound;
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({
    ip: ip(11),
    state: 'bound',
    containerId: 'c-11',
    heldUntil: null,
  });
  expect(await rowOf(11)).toEqual([{ state: 'bound', container_id: 'c-11' }]);
}, 60_000);
