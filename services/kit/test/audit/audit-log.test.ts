/**
 * The audit log's kit parts on PGlite, migrated by the real migrations: an entry written in a
 * transaction commits with it and vanishes with its rollback; inside a request it takes who and
 * from where from the router; the router records what no use case did (refusals, changes with no
 * transaction of their own) and never records public routes, reads or a 401.
 */
import { z } from 'zod';
import {
  collectionPaths,
  defineRoute,
  inTransaction,
  insertAuditEntry,
  listAuditEntries,
  pruneAuditEntries,
  recordAudit,
  routeActionOf,
  ConflictError,
  type RouteSpec,
} from '../../src';
import { migrateDatabase, openDatabase, type Database } from '../../src/db';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';

jest.setTimeout(120_000);

describe('recordAudit in a transaction', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ url: 'pglite://memory' });
    await migrateDatabase({ database: db });
  });
  afterAll(() => db?.close());

  test('commits with the change and is gone with its rollback', async () => {
    await inTransaction(db, ({ tx }) =>
      recordAudit(tx, { action: 'thing.create', targetType: 'thing', targetId: 'kept', source: 'test' }),
    );
    await expect(
      inTransaction(db, async ({ tx }) => {
        await recordAudit(tx, {
          action: 'thing.create',
          targetType: 'thing',
          targetId: 'lost',
          source: 'test',
        });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const rows = await listAuditEntries(db.prisma, { action: 'thing.create' }, 'asc', 10);
    expect(rows.map((r) => r.targetId)).toEqual(['kept']);
    // Background work (no request): the platform itself acts, in the transaction.
    expect(rows[0]).toMatchObject({
      actor: 'system',
      role: 'system',
      inTransaction: true,
      result: 'succeeded',
    });
  });

  test('outside a request, an entry must name its action and target', async () => {
    await expect(inTransaction(db, ({ tx }) => recordAudit(tx, {}))).rejects.toThrow(/must name its action/);
  });
});

describe('derived route actions', () => {
  const route = (method: RouteSpec['method'], path: string, extra: Partial<RouteSpec> = {}) =>
    ({
      method,
      path,
      summary: '',
      responses: {},
      handler: async () => ({ status: 200 }),
      ...extra,
    }) as RouteSpec;
  const routes = [
    route('get', '/v1/containers'),
    route('post', '/v1/containers'),
    route('post', '/v1/containers/:id/start'),
    route('delete', '/v1/containers/:id'),
    route('get', '/v1/containers/:id/interfaces'),
    route('post', '/v1/containers/:id/interfaces'),
    route('patch', '/v1/containers/:id/interfaces/:ifname'),
    route('post', '/v1/nodes/:node/images/pull'),
    route('put', '/v1/users/:user/quota'),
    route('delete', '/v1/tokens/:id', { auditAction: 'token.revoke' }),
  ];
  test.each([
    [1, 'container.create', 'container', undefined],
    [2, 'container.start', 'container', 'id'],
    [3, 'container.remove', 'container', 'id'],
    [5, 'container.interfaces.create', 'container', 'id'],
    [6, 'container.interfaces.update', 'container', 'id'],
    [7, 'node.images.pull', 'node', 'node'],
    [8, 'user.quota.update', 'user', 'user'],
    [9, 'token.revoke', 'token', 'id'],
  ])('route %i is %s', (i, action, targetType, targetParam) => {
    expect(routeActionOf(routes[i]!, collectionPaths(routes))).toEqual({
      action,
      targetType,
      ...(targetParam ? { targetParam } : {}),
    });
  });
});

describe('the router records', () => {
  let t: TestHost;
  let db: Database;
  const things = new Map<string, string>();
  beforeAll(async () => {
    const routes: RouteSpec[] = [
      defineRoute({
        method: 'post',
        path: '/v1/things',
        summary: 'make a thing (in a transaction, recorded there)',
        body: z.object({ name: z.string().max(20) }),
        responses: { 201: { description: 'made' } },
        handler: async ({ body }) => {
          if (things.has(body.name)) throw new ConflictError(`thing '${body.name}' exists`);
          await inTransaction(db, ({ tx }) => recordAudit(tx, { targetId: body.name }));
          things.set(body.name, 'made');
          return { status: 201 };
        },
      }),
      defineRoute({
        method: 'post',
        path: '/v1/things/:name/poke',
        summary: 'poke a thing (no transaction: the router records it)',
        params: z.object({ name: z.string().max(20) }),
        roles: ['operator'],
        responses: { 204: { description: 'poked' } },
        handler: async () => ({ status: 204 }),
      }),
      defineRoute({
        method: 'post',
        path: '/v1/things/:name/ping',
        summary: 'public',
        roles: 'public',
        params: z.object({ name: z.string() }),
        responses: { 204: { description: 'pong' } },
        handler: async () => ({ status: 204 }),
      }),
    ];
    t = await startTestHost({
      name: 'audit',
      database: 'pglite',
      bus: 'in-process',
      modules: (deps) => {
        db = deps.db as unknown as Database;
        return [{ name: 'things', routes }];
      },
    });
  });
  afterAll(() => t?.stop());

  const entries = () => listAuditEntries(db.prisma, {}, 'asc', 100);

  test('who, what, from where and the result, once per request', async () => {
    const headers = { 'content-type': 'application/json', 'user-agent': 'audit-test/1' };
    expect(
      (await t.call('alice', 'user', '/v1/things', { method: 'POST', headers, body: '{"name":"a"}' })).status,
    ).toBe(201);
    expect(
      (await t.call('alice', 'user', '/v1/things', { method: 'POST', headers, body: '{"name":"a"}' })).status,
    ).toBe(409);
    expect(
      (await t.call('alice', 'user', '/v1/things', { method: 'POST', headers, body: '{"name":5}' })).status,
    ).toBe(422);
    expect((await t.call('alice', 'user', '/v1/things/a/poke', { method: 'POST', headers })).status).toBe(
      403,
    );
    expect((await t.call('ops', 'operator', '/v1/things/a/poke', { method: 'POST', headers })).status).toBe(
      204,
    );
    // Not recorded: a read, a public route, a request with no identity.
    await t.call('alice', 'user', '/v1/openapi.json');
    await fetch(`${t.url}/v1/things/a/ping`, { method: 'POST' });
    expect(
      (await fetch(`${t.url}/v1/things`, { method: 'POST', headers, body: '{"name":"b"}' })).status,
    ).toBe(401);

    const rows = await entries();
    expect(
      rows.map((r) => [r.actor, r.action, r.targetId, r.result, r.status ?? null, r.inTransaction]),
    ).toEqual([
      ['alice', 'thing.create', 'a', 'succeeded', null, true],
      ['alice', 'thing.create', undefined, 'refused', 409, false],
      ['alice', 'thing.create', undefined, 'refused', 422, false],
      ['alice', 'thing.poke', 'a', 'refused', 403, false],
      ['ops', 'thing.poke', 'a', 'succeeded', 204, false],
    ]);
    for (const r of rows) {
      expect(r).toMatchObject({ source: 'things', userAgent: 'audit-test/1' });
      expect(r.sourceIp).toMatch(/127\.0\.0\.1|::1/);
      expect(r.requestId).toMatch(/^[\w.-]+$/);
    }
    expect(rows[1]!.reason).toBe("thing 'a' exists");
  });
});

describe('retention', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ url: 'pglite://memory' });
    await migrateDatabase({ database: db });
  });
  afterAll(() => db?.close());

  test('entries older than the retention are pruned in batches, newer ones kept', async () => {
    const base = {
      source: 'test',
      actor: 'ops',
      role: 'operator',
      targetType: 'thing',
      result: 'succeeded' as const,
    };
    for (let i = 0; i < 7; i++)
      await insertAuditEntry(db.prisma, {
        ...base,
        action: 'thing.old',
        inTransaction: true,
        at: new Date(Date.UTC(2020, 0, 1 + i)),
      });
    await insertAuditEntry(db.prisma, { ...base, action: 'thing.new', inTransaction: true, at: new Date() });
    expect(await pruneAuditEntries(db, new Date(Date.UTC(2021, 0, 1)), { batch: 3 })).toBe(7);
    expect((await listAuditEntries(db.prisma, {}, 'asc', 10)).map((e) => e.action)).toEqual(['thing.new']);
  });
});
