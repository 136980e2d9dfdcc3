/**
 * A deadlock between ipam's lock-free statement and another writer on the segment (on the rig's
 * Postgres): Postgres aborts the statement, which wrote nothing, and its requests are served the
 * locked way: every request answered 201, each address once, never a 500. The other writer is
 * this test's own transaction X, which starts waiting after the statement does: Postgres runs its
 * deadlock check in the backend that has waited deadlock_timeout first, and ends that one. A
 * fresh clone's CI saw the same from two pools of one segment, a locked block against the
 * lock-free statement of the other pool.
 */
import type pg from 'pg';
import { backendsWaitingBehind } from '@testbed/test-support/lock-waiters';
import type { TestHost } from '@testbed/test-support/test-host';
import { startPoolAndRival, type PoolAndRival } from './pool-and-rival';

const SEGMENT = 'conflict';
const ip = (n: number) => `10.203.0.${n}`;

let h: PoolAndRival;
let t: TestHost;
let x: pg.Client;
const call = (method: string, pathname: string, body?: unknown) => h.call(method, pathname, body);

beforeAll(async () => {
  h = await startPoolAndRival({
    name: 'ipam_write_conflict',
    pool: 'conflict',
    segment: SEGMENT,
    prefix: '10.203.0',
  });
  ({ t, x } = h);
}, 120_000);
afterAll(() => h?.stop());

const insertX = (n: number) =>
  x.query(
    `INSERT INTO ipam.allocation (pool, segment, ip_num, ip, owner, state, held_until, updated_at)
     VALUES ('conflict', $1, $2, $3, 'x', 'held', now() + interval '1 hour', now())`,
    [SEGMENT, (10 * 2 ** 24 + 203 * 2 ** 16 + n).toString(), ip(n)],
  );

const deadlocks = async () =>
  Number(
    (
      await t.db.pgPool!.query<{ deadlocks: string }>(
        'SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()',
      )
    ).rows[0]!.deadlocks,
  );

test('the lock-free statement aborted in a deadlock: its requests served under the lock, 201 each, no address twice', async () => {
  const before = await deadlocks();
  await x.query('BEGIN');
  await insertX(12);
  await x.query('SAVEPOINT first');
  await insertX(10);

  // r0 takes .10 by itself and waits on X; r1 and r2 arrive meanwhile and are combined.
  const r0 = call('POST', '/v1/pools/conflict/allocations', { owner: 'r0' });
  await backendsWaitingBehind(t.db.pgPool!, x, 'an ipam backend waiting on X');
  const r1 = call('POST', '/v1/pools/conflict/allocations', { owner: 'r1' });
  const r2 = call('POST', '/v1/pools/conflict/allocations', { owner: 'r2' });
  await new Promise((r) => setTimeout(r, 200));
  // .10 given up: r0 gets it (under the lock: the pool's first request), and r1 and r2 go in ONE
  // lock-free statement that inserts .11, then waits on X's .12.
  await x.query('ROLLBACK TO SAVEPOINT first');
  await backendsWaitingBehind(t.db.pgPool!, x, 'an ipam backend waiting on X');
  // X now wants .11, which the statement holds: a deadlock. The statement has waited longer, so
  // its backend finds it (deadlock_timeout, 1 s) and is the one ended.
  await insertX(11);
  // The locked way: under the segment's lock, .11 and .12 are X's (uncommitted) until X ends.
  await backendsWaitingBehind(t.db.pgPool!, x, 'an ipam backend waiting on X');
  await x.query('ROLLBACK');

  const answers = await Promise.all([r0, r1, r2]);
  expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
  const ips = await Promise.all(
    answers.map(async (r) => ((await r.json()) as { items: { ip: string }[] }).items.map((i) => i.ip)),
  );
  expect(ips.flat().sort()).toEqual([ip(10), ip(11), ip(12)]);
  expect(await deadlocks()).toBe(before + 1);
  const rows = await t.db.pgPool!.query<{ ip: string; owner: string }>(
    `SELECT ip, owner FROM ipam.allocation WHERE segment = $1 ORDER BY ip_num`,
    [SEGMENT],
  );
  expect(rows.rows.map((r) => r.ip)).toEqual([ip(10), ip(11), ip(12)]);
  expect(rows.rows.map((r) => r.owner).sort()).toEqual(['r0', 'r1', 'r2']);
}, 60_000);
