/**
 * Operator-issued API tokens, on PGlite with an injected clock: issued, listed, read and revoked
 * by operators only; a token authenticates as its subject and role on quota's other routes; a
 * revoked, expired, unknown or malformed one is a 401 naming why.
 */
import { ManualClock } from '@testbed/test-support/clock';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createQuotaService, defaultQuotaConfig } from '../src';

const CACHE_SECONDS = 5;
const clock = new ManualClock(new Date('2030-03-01T08:00:00Z'));
let t: TestHost;
const at = (hours: number) => new Date(clock.now().getTime() + hours * 3600_000).toISOString();
const json = (body: unknown, method = 'POST'): RequestInit => ({ method, body: JSON.stringify(body) });
const ops = (pathname: string, init?: RequestInit) => t.call('ops', 'operator', pathname, init);
const user = (pathname: string, init?: RequestInit) => t.call('mallory', 'user', pathname, init);
const withToken = (token: string, pathname: string, init: RequestInit = {}) =>
  fetch(t.url + pathname, { ...init, headers: { authorization: `Bearer ${token}` } });
/** Past every remembered introspection answer. */
const forgetCache = () => clock.advance(CACHE_SECONDS * 1000 + 1);

interface Created {
  id: string;
  token: string;
  state: string;
  subject: string;
  role: string;
  nodes: string[] | null;
}

async function issue(body: Record<string, unknown>): Promise<Created> {
  const res = await ops('/v1/tokens', json({ name: 'ci', expiresAt: at(24), ...body }));
  expect(res.status).toBe(201);
  return (await res.json()) as Created;
}

beforeAll(async () => {
  t = await startTestHost({
    name: 'quota-tokens',
    database: 'pglite',
    bus: 'in-process',
    clock,
    apiTokens: { url: 'self', cacheSeconds: CACHE_SECONDS },
    modules: (deps) => [
      createQuotaService({ ...deps, config: { ...defaultQuotaConfig, QUOTA_KNOWN_NODES: 'node1' } }),
    ],
  });
});
afterAll(() => t.stop());

test('an operator issues, lists, reads and revokes a token; the secret is answered once only', async () => {
  const res = await ops(
    '/v1/tokens',
    json({
      name: 'CI of project x',
      subject: 'ci-bot',
      role: 'service',
      nodes: ['node1'],
      expiresAt: at(48),
    }),
  );
  expect(res.status).toBe(201);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const created = (await res.json()) as Created & Record<string, unknown>;
  expect(created).toMatchObject({
    name: 'CI of project x',
    subject: 'ci-bot',
    role: 'service',
    nodes: ['node1'],
    state: 'active',
    createdBy: 'ops',
    expiresAt: at(48),
    revokedAt: null,
  });
  expect(created.token).toMatch(new RegExp(`^tbk_${created.id}_[A-Za-z0-9_-]{43}$`));
  const secret = created.token.split('_').slice(2).join('_');

  const listed = await ops('/v1/tokens');
  expect(listed.status).toBe(200);
  const listText = await listed.text();
  const page = JSON.parse(listText) as { items: { id: string }[] };
  expect(page.items.map((i) => i.id)).toContain(created.id);
  const got = await ops(`/v1/tokens/${created.id}`);
  expect(got.status).toBe(200);
  const gotText = await got.text();
  for (const text of [listText, gotText]) {
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/hash|"token"/i);
  }

  expect((await ops(`/v1/tokens/${created.id}`, { method: 'DELETE' })).status).toBe(204);
  // Again is fine, and the first revocation's time stays.
  const revokedAt = ((await (await ops(`/v1/tokens/${created.id}`)).json()) as { revokedAt: string })
    .revokedAt;
  clock.advance(1000);
  expect((await ops(`/v1/tokens/${created.id}`, { method: 'DELETE' })).status).toBe(204);
  expect(await (await ops(`/v1/tokens/${created.id}`)).json()).toMatchObject({ state: 'revoked', revokedAt });

  const unknown = await ops('/v1/tokens/00000000-0000-4000-8000-000000000000', { method: 'DELETE' });
  expect(unknown.status).toBe(404);
  expect((await ops('/v1/tokens/00000000-0000-4000-8000-000000000000')).status).toBe(404);
});

test('a user may not issue, list, read or revoke tokens', async () => {
  const { id } = await issue({ subject: 'someone', role: 'user' });
  for (const [path, init] of [
    ['/v1/tokens', json({ name: 'x', subject: 'mallory', role: 'operator', expiresAt: at(1) })],
    ['/v1/tokens', undefined],
    [`/v1/tokens/${id}`, undefined],
    [`/v1/tokens/${id}`, { method: 'DELETE' }],
  ] as const) {
    const res = await user(path, init);
    expect([path, init?.method ?? 'GET', res.status]).toEqual([path, init?.method ?? 'GET', 403]);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  }
  expect(await (await ops(`/v1/tokens/${id}`)).json()).toMatchObject({ state: 'active' });
});

test('a past or too distant expiry and an unknown role are problems naming the field', async () => {
  const problemOf = async (body: Record<string, unknown>) => {
    const res = await ops(
      '/v1/tokens',
      json({ name: 'x', subject: 'ci', role: 'user', expiresAt: at(1), ...body }),
    );
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    return ((await res.json()) as { errors: { path: string; message: string }[] }).errors;
  };
  expect(await problemOf({ expiresAt: at(-1) })).toEqual([
    { path: 'body.expiresAt', message: 'must be in the future' },
  ]);
  expect(await problemOf({ expiresAt: at(24 * 400) })).toEqual([
    { path: 'body.expiresAt', message: 'must be at most 366 days ahead' },
  ]);
  expect((await problemOf({ role: 'root' })).map((e) => e.path)).toEqual(['body.role']);
  expect((await problemOf({ nodes: [] })).map((e) => e.path)).toEqual(['body.nodes']);
  expect((await problemOf({ expiresAt: '2030-03-02T10:00' })).map((e) => e.path)).toEqual(['body.expiresAt']);
});

test('a token authenticates on other routes as its subject and role', async () => {
  const asUser = await issue({ subject: 'carol', role: 'user' });
  const own = await withToken(asUser.token, '/v1/users/carol/quota');
  expect(own.status).toBe(200);
  expect(await own.json()).toMatchObject({ user: 'carol' });
  // A user token is a user: not someone else's quota, not the operators' list.
  expect((await withToken(asUser.token, '/v1/users/alice/quota')).status).toBe(403);
  const list = await withToken(asUser.token, '/v1/users');
  expect(list.status).toBe(403);
  expect(await list.json()).toMatchObject({ detail: "role 'user' may not GET /v1/users" });

  const asService = await issue({ subject: 'reservation-bot', role: 'service' });
  expect((await withToken(asService.token, '/v1/users')).status).toBe(200);
  const asOperator = await issue({ subject: 'night-shift', role: 'operator' });
  expect((await withToken(asOperator.token, '/v1/tokens')).status).toBe(200);
});

test('revoked, expired, unknown and malformed tokens are 401 problems naming why', async () => {
  const detailOf = async (token: string) => {
    const res = await withToken(token, '/v1/users/dave/quota');
    expect(res.status).toBe(401);
    return ((await res.json()) as { detail: string }).detail;
  };
  const revoked = await issue({ subject: 'dave', role: 'user' });
  expect((await withToken(revoked.token, '/v1/users/dave/quota')).status).toBe(200);
  await ops(`/v1/tokens/${revoked.id}`, { method: 'DELETE' });
  forgetCache();
  expect(await detailOf(revoked.token)).toBe('token revoked');

  const expiring = await issue({ subject: 'dave', role: 'user', expiresAt: at(1) });
  expect((await withToken(expiring.token, '/v1/users/dave/quota')).status).toBe(200);
  clock.advance(3600_000);
  expect(await detailOf(expiring.token)).toBe('token expired');
  expect(await (await ops(`/v1/tokens/${expiring.id}`)).json()).toMatchObject({ state: 'expired' });

  const live = await issue({ subject: 'dave', role: 'user' });
  const tampered = `${live.token.slice(0, -2)}${live.token.endsWith('AA') ? 'BB' : 'AA'}`;
  expect(await detailOf(tampered)).toBe('token unknown');
  expect(await detailOf('tbk_00000000-0000-4000-8000-000000000000_' + 'A'.repeat(43))).toBe('token unknown');
  expect(await detailOf('tbk_not-a-token')).toBe('token malformed');
});

test('introspection is public and tells only whoever holds the token', async () => {
  const scoped = await issue({ subject: 'erin', role: 'service', nodes: ['node1'] });
  const ask = async (token: string) => {
    const res = await fetch(`${t.url}/v1/tokens/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return res.json();
  };
  expect(await ask(scoped.token)).toEqual({
    active: true,
    tokenId: scoped.id,
    subject: 'erin',
    role: 'service',
    nodes: ['node1'],
    exp: Math.floor(Date.parse(at(24)) / 1000),
  });
  expect(await ask(`tbk_${scoped.id}_${'A'.repeat(43)}`)).toEqual({ active: false, reason: 'unknown' });
  expect(await ask('garbage')).toEqual({ active: false, reason: 'malformed' });
});
