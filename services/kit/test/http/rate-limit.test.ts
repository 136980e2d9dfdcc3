/**
 * The rate limiter on one host (PGlite): limits off let everything through and document no 429;
 * limits on put a 429 exactly on the operations that can answer it; a limiter that cannot reach
 * its table lets requests through instead of failing them; past windows are pruned. The limit
 * across replicas is rate-limit.postgres.test.ts.
 */
import { z } from 'zod';
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import {
  buildOpenApiDocument,
  defineRoute,
  ManualClock,
  pruneRateLimitWindows,
  type RateLimits,
  type RouteSpec,
} from '@testbed/kit';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';

jest.setTimeout(120_000);

const ALLOCATIONS = '/v1/pools/experiment/allocations';
const allocate = (host: TestHost, user: string) =>
  host.call(user, 'user', ALLOCATIONS, { method: 'POST', body: JSON.stringify({ owner: user }) });

type OpenApi = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
const openApiOf = async (host: TestHost) =>
  (await (await fetch(`${host.url}/v1/openapi.json`)).json()) as OpenApi;

describe('limits off (0)', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost({
      name: 'ratelimit-off',
      database: 'pglite',
      bus: 'in-process',
      rateLimit: { userPerMinute: 0, servicePerMinute: 0 },
      modules: (deps) => [createIpamService({ ...deps, source: 'ipam', config: defaultIpamConfig })],
    });
  });
  afterAll(() => t?.stop());

  test('let every change through, with no RateLimit headers and no 429 in the document', async () => {
    for (let i = 0; i < 12; i++) {
      const res = await allocate(t, 'alice');
      expect(res.status).toBe(201);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
    }
    const doc = await openApiOf(t);
    const with429 = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).filter((op) => op.responses['429']),
    );
    expect(with429).toEqual([]);
  });
});

describe('limits on, one host', () => {
  const clock = new ManualClock(new Date('2030-01-01T00:00:30Z'));
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost({
      name: 'ratelimit-on',
      database: 'pglite',
      bus: 'in-process',
      clock,
      rateLimit: { userPerMinute: 3, servicePerMinute: 0 },
      modules: (deps) => [createIpamService({ ...deps, source: 'ipam', config: defaultIpamConfig })],
    });
  });
  afterAll(() => t?.stop());

  test('the document names the 429, its headers and the problem schema on each limited operation', async () => {
    const doc = await openApiOf(t);
    const op = doc.paths['/v1/pools/{pool}/allocations']!.post!.responses['429'] as {
      headers: Record<string, unknown>;
      content: Record<string, { schema: unknown }>;
    };
    expect(Object.keys(op.headers)).toEqual(
      expect.arrayContaining(['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining']),
    );
    expect(op.content['application/problem+json']!.schema).toEqual({ $ref: '#/components/schemas/Problem' });
    // Reads are never limited; pool creation is for operators only, whose limit is off here.
    expect(doc.paths['/v1/pools/{pool}/allocations']!.get!.responses['429']).toBeUndefined();
    expect(doc.paths['/v1/pools']!.post!.responses['429']).toBeUndefined();
    // A user may release an address: limited.
    expect(doc.paths['/v1/pools/{pool}/allocations/{ip}']!.delete!.responses['429']).toBeDefined();
  });

  test('the 4th change is a 429; operators, unlimited here, pass', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await allocate(t, 'dora')).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    for (let i = 0; i < 5; i++) {
      const res = await t.call('ops', 'operator', ALLOCATIONS, {
        method: 'POST',
        body: JSON.stringify({ owner: 'dora' }),
      });
      expect(res.status).toBe(201);
    }
  });

  test('a limiter that cannot reach its table lets the change through and counts the failure', async () => {
    await t.db.prisma.$executeRawUnsafe('ALTER TABLE ratelimit.window_count RENAME TO window_count_away');
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await allocate(t, 'dora')).status);
      expect(statuses).toEqual([201, 201, 201]);
    } finally {
      await t.db.prisma.$executeRawUnsafe('ALTER TABLE ratelimit.window_count_away RENAME TO window_count');
    }
    const failures = await t.metrics.getSingleMetric('http_rate_limit_failures_total')?.get();
    expect(failures?.values[0]?.value).toBe(3);
    expect((await allocate(t, 'dora')).status).toBe(429);
  });

  test('windows that began before the cut-off are pruned, the current one kept', async () => {
    await t.db.prisma.$executeRaw`
      INSERT INTO ratelimit.window_count (scope, subject, window_start, count)
      VALUES ('ipam', 'old', ${new Date('2029-12-31T23:00:00Z')}, 4),
             ('ipam', 'old', ${new Date('2029-12-31T23:01:00Z')}, 2)`;
    const pruned = await pruneRateLimitWindows(t.db, new Date('2029-12-31T23:59:00Z'), { batch: 1 });
    expect(pruned).toBe(2);
    const left = await t.db.prisma.$queryRaw<
      { subject: string }[]
    >`SELECT subject FROM ratelimit.window_count`;
    expect(left.map((r) => r.subject)).toEqual(['dora']);
  });
});

describe('which operations can answer 429', () => {
  const route = (method: RouteSpec['method'], roles?: RouteSpec['roles']): RouteSpec =>
    defineRoute({
      method,
      path: `/v1/${method}-${String(roles)}`,
      summary: 'x',
      ...(roles ? { roles } : {}),
      body: method === 'get' ? undefined : z.object({}),
      responses: { 200: { description: 'ok', schema: z.object({}) } },
      handler: async () => ({ status: 200, body: {} }),
    });
  const routes = [
    route('get'),
    route('post'),
    route('put', ['user']),
    route('patch', ['operator', 'service']),
    route('delete', 'public'),
  ];
  const limited = (limits: RateLimits) => {
    const doc = buildOpenApiDocument({ title: 't', version: '1' }, routes, {
      rateLimits: limits,
    }) as unknown as OpenApi;
    return Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.responses['429'])
        .map(([m]) => `${m} ${p}`),
    );
  };

  test('mutating, authenticated ones admitting a limited role; never public ones or reads', () => {
    expect(limited({ userPerMinute: 1, servicePerMinute: 1 })).toEqual([
      'post /v1/post-undefined',
      'put /v1/put-user',
      'patch /v1/patch-operator,service',
    ]);
    expect(limited({ userPerMinute: 1, servicePerMinute: 0 })).toEqual([
      'post /v1/post-undefined',
      'put /v1/put-user',
    ]);
    expect(limited({ userPerMinute: 0, servicePerMinute: 1 })).toEqual([
      'post /v1/post-undefined',
      'patch /v1/patch-operator,service',
    ]);
    expect(limited({ userPerMinute: 0, servicePerMinute: 0 })).toEqual([]);
  });
});
