/**
 * Binding an address takes its segment's lock inside its one statement (on the rig's Postgres):
 * a release that holds the lock, as the expiry pass does between reading "still held and
 * expired" and deleting, ends first, and the bind then sees what the release left. This test's
 * own transaction X plays the release: it takes the segment's lock the way ipam does and, in the
 * first case, deletes the allocation before it commits.
 */
import type pg from 'pg';
import { backendsWaitingBehind } from '@testbed/test-support/lock-waiters';
import type { TestHost } from '@testbed/test-support/test-host';
import { startPoolAndRival, type PoolAndRival } from './pool-and-rival';

const SEGMENT = 'bind-lock';
const ip = (n: number) => `10.203.1.${n}`;

let h: PoolAndRival;
let t: TestHost;
let x: pg.Client;
const call = (method: string, pathname: string, body?: unknown) => h.call(method, pathname, body);

beforeAll(async () => {
  h = await startPoolAndRival({
    name: 'ipam_bind_under_release',
    pool: 'bindlock',
    segment: SEGMENT,
    prefix: '10.203.1',
  });
  ({ t, x } = h);
}, 120_000);
afterAll(() => h?.stop());

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
