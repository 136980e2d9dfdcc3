import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createIpamService, defaultIpamConfig } from '../src';

let t: TestHost;
const as = (user: string, pathname: string, init?: RequestInit) => t.call(user, 'user', pathname, init);
const hold = (user: string, body: Record<string, unknown>) =>
  as(user, '/v1/pools/experiment/allocations', {
    method: 'POST',
    body: JSON.stringify({ owner: user, ...body }),
  });

beforeAll(async () => {
  t = await startTestHost({
    name: 'ipam-next-free',
    database: 'pglite',
    bus: 'in-process',
    modules: (deps) => [createIpamService({ ...deps, config: defaultIpamConfig })],
  });
});
afterAll(() => t.stop());

test('suggests what an allocation would get, past addresses anyone holds, and holds nothing', async () => {
  const first = await as('alice', '/v1/pools/experiment/next-free');
  expect(first.status).toBe(200);
  expect(await first.json()).toEqual({ pool: 'experiment', items: ['10.64.98.52'] });

  // Another user's holds count too, though a user sees only their own allocations.
  expect((await hold('bob', { count: 2 })).status).toBe(201);
  const next = (await (await as('alice', '/v1/pools/experiment/next-free')).json()) as { items: string[] };
  expect(next.items).toEqual(['10.64.98.54']);
  // Suggesting held nothing: the allocation gets the same address.
  const held = (await (await hold('alice', {})).json()) as { items: { ip: string }[] };
  expect(held.items.map((a) => a.ip)).toEqual(['10.64.98.54']);

  const block = await as('alice', '/v1/pools/experiment/next-free?count=3');
  expect(await block.json()).toEqual({
    pool: 'experiment',
    items: ['10.64.98.55', '10.64.98.56', '10.64.98.57'],
  });
  const from = await as('alice', '/v1/pools/experiment/next-free?count=2&start=10.64.98.100');
  expect(((await from.json()) as { items: string[] }).items).toEqual(['10.64.98.100', '10.64.98.101']);
});

test('a block in the way answers 409 with the first conflict; bad input names the query field', async () => {
  const conflict = await as('alice', '/v1/pools/experiment/next-free?count=3&start=10.64.98.52');
  expect(conflict.status).toBe(409);
  expect(await conflict.json()).toMatchObject({ firstConflict: '10.64.98.52' });

  const outside = await as('alice', '/v1/pools/experiment/next-free?start=10.0.0.1');
  expect(outside.status).toBe(422);
  expect(((await outside.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('query.start');
  const bad = await as('alice', '/v1/pools/experiment/next-free?count=0');
  expect(bad.status).toBe(422);
  expect((await as('alice', '/v1/pools/nowhere/next-free')).status).toBe(404);
  expect((await fetch(`${t.url}/v1/pools/experiment/next-free`)).status).toBe(401);
});
