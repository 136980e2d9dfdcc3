/**
 * Per-subject rate limits hold across replicas: two ipam hosts on one Postgres database count
 * every user's changes into the same windows, so with a limit of 5 a minute the 6th change is a
 * 429 whichever replica takes it, even when the requests arrive all at once.
 */
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { ManualClock, PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, type Role } from '@testbed/kit';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';

jest.setTimeout(120_000);

// Ten seconds into a minute: the window ends in 50 s.
const clock = new ManualClock(new Date('2030-01-01T00:00:10Z'));
const rateLimit = { userPerMinute: 5, servicePerMinute: 8 };
let a: TestHost;
let b: TestHost;

beforeAll(async () => {
  a = await startTestHost({
    name: 'ratelimit_a',
    database: 'postgres',
    bus: 'in-process',
    clock,
    rateLimit,
    modules: (deps) => [createIpamService({ ...deps, source: 'ipam', config: defaultIpamConfig })],
  });
  b = await startTestHost({
    name: 'ratelimit_b',
    database: { url: a.databaseUrl },
    bus: 'in-process',
    clock,
    rateLimit,
    modules: (deps) => [createIpamService({ ...deps, source: 'ipam', config: defaultIpamConfig })],
  });
}, 180_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const ALLOCATIONS = '/v1/pools/experiment/allocations';

/** A user holds one address for themselves: a real change, cheap to repeat. */
const allocate = (host: TestHost, user: string) =>
  host.call(user, 'user', ALLOCATIONS, { method: 'POST', body: JSON.stringify({ owner: user }) });

async function refusedCount(host: TestHost, route: string): Promise<number> {
  const metric = await host.metrics.getSingleMetric('http_rate_limited_total')?.get();
  return metric?.values.find((v) => v.labels.route === route)?.value ?? 0;
}

test('the 6th change of a user in a minute is a 429 whichever replica takes the requests', async () => {
  const statuses: number[] = [];
  const remaining: (string | null)[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await allocate(i % 2 === 0 ? a : b, 'alice');
    statuses.push(res.status);
    remaining.push(res.headers.get('ratelimit-remaining'));
    expect(res.headers.get('ratelimit-limit')).toBe('5');
  }
  expect(statuses).toEqual([201, 201, 201, 201, 201]);
  expect(remaining).toEqual(['4', '3', '2', '1', '0']);

  const sixth = await allocate(b, 'alice');
  expect(sixth.status).toBe(429);
  expect(sixth.headers.get('retry-after')).toBe('50');
  expect(sixth.headers.get('ratelimit-remaining')).toBe('0');
  expect(sixth.headers.get('content-type')).toContain(PROBLEM_CONTENT_TYPE);
  const problem = (await sixth.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({
    type: `${PROBLEM_TYPE_BASE}rate-limited`,
    title: 'Too many requests',
    status: 429,
    instance: ALLOCATIONS,
    limit: 5,
    windowSeconds: 60,
    retryAfterSeconds: 50,
  });
  expect(problem.detail).toBe("at most 5 changes a minute for user 'alice' in ipam; try again in 50 s");

  expect((await allocate(a, 'alice')).status).toBe(429);
  // Counted by route pattern, in each replica's own registry.
  expect(await refusedCount(a, '/v1/pools/:pool/allocations')).toBe(1);
  expect(await refusedCount(b, '/v1/pools/:pool/allocations')).toBe(1);
});

test('another user is not limited by the first, and reads are never limited', async () => {
  expect((await allocate(a, 'bob')).status).toBe(201);
  for (const host of [a, b, a, b, a, b, a]) {
    const res = await host.call('alice', 'user', ALLOCATIONS);
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-limit')).toBeNull();
  }
});

test('requests arriving at once on both replicas get exactly the limit through', async () => {
  const answers = await Promise.all(
    Array.from({ length: 16 }, (_, i) => allocate(i % 2 === 0 ? a : b, 'carol')),
  );
  const statuses = answers.map((r) => r.status).sort();
  expect(statuses.filter((s) => s === 201)).toHaveLength(5);
  expect(statuses.filter((s) => s === 429)).toHaveLength(11);
});

test('operators and the service role have their own, larger limit', async () => {
  const release = (host: TestHost, role: Role) =>
    host.call('portal', role, `${ALLOCATIONS}/10.64.98.250`, { method: 'DELETE' });
  const statuses: number[] = [];
  for (let i = 0; i < 9; i++) statuses.push((await release(i % 2 === 0 ? a : b, 'service')).status);
  // Releasing an address nobody holds is a 404: it still counts as a change asked for.
  expect(statuses.slice(0, 8).every((s) => s !== 429)).toBe(true);
  expect(statuses[8]).toBe(429);
  const res = await release(a, 'service');
  expect(res.headers.get('ratelimit-limit')).toBe('8');
  expect(((await res.json()) as { detail: string }).detail).toMatch(
    /^at most 8 changes a minute for service 'portal'/,
  );
});

test('the next window admits the user again', async () => {
  clock.advance(50_000);
  const res = await allocate(b, 'alice');
  expect(res.status).toBe(201);
  expect(res.headers.get('ratelimit-remaining')).toBe('4');
  expect(res.headers.get('ratelimit-reset')).toBe('60');
});
