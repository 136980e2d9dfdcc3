/**
 * A revoked API token fails everywhere within the cache period: quota (which owns the tokens)
 * and another service's process (ipam) both accept a token, each remembering the introspection
 * answer; once an operator revokes it on quota, both answer 401 "token revoked" within
 * AUTH_TOKEN_CACHE_SECONDS + 1 s. ipam reads no token table (it asks quota over HTTP, as
 * AUTH_TOKENS_URL has it do), so each host has a PGlite database of its own.
 */
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createQuotaService, defaultQuotaConfig } from '../src';

const CACHE_SECONDS = 2;
let quota: TestHost;
let ipam: TestHost;

beforeAll(async () => {
  quota = await startTestHost({
    name: 'quota_tokens',
    database: 'pglite',
    bus: 'in-process',
    apiTokens: { url: 'self', cacheSeconds: CACHE_SECONDS },
    modules: (deps) => [createQuotaService({ ...deps, config: defaultQuotaConfig })],
  });
  ipam = await startTestHost({
    name: 'ipam_tokens',
    database: 'pglite',
    bus: 'in-process',
    // As AUTH_TOKENS_URL has it: the quota service's base URL.
    apiTokens: { url: quota.url, cacheSeconds: CACHE_SECONDS },
    modules: (deps) => [createIpamService({ ...deps, config: defaultIpamConfig })],
  });
}, 120_000);
afterAll(async () => {
  await ipam?.stop();
  await quota?.stop();
});

test('a revoked token is refused by quota and by another service within the cache period', async () => {
  const issued = await quota.call('ops', 'operator', '/v1/tokens', {
    method: 'POST',
    body: JSON.stringify({
      name: 'replicas',
      subject: 'ci-bot',
      role: 'service',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    }),
  });
  expect(issued.status).toBe(201);
  const { id, token } = (await issued.json()) as { id: string; token: string };
  const onQuota = () => fetch(`${quota.url}/v1/users`, { headers: { authorization: `Bearer ${token}` } });
  const onIpam = () => fetch(`${ipam.url}/v1/pools`, { headers: { authorization: `Bearer ${token}` } });
  // Both accept it and now remember that it is good.
  expect((await onQuota()).status).toBe(200);
  expect((await onIpam()).status).toBe(200);

  expect((await quota.call('ops', 'operator', `/v1/tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
  const revokedAt = Date.now();
  const deadline = revokedAt + (CACHE_SECONDS + 1) * 1000;
  const refusedAt: Record<string, number> = {};
  const details: Record<string, string> = {};
  while (Object.keys(refusedAt).length < 2 && Date.now() < deadline) {
    for (const [name, call] of [
      ['quota', onQuota],
      ['ipam', onIpam],
    ] as const) {
      if (refusedAt[name] !== undefined) continue;
      const res = await call();
      if (res.status === 401) {
        refusedAt[name] = Date.now() - revokedAt;
        details[name] = ((await res.json()) as { detail: string }).detail;
      } else {
        expect(res.status).toBe(200);
        await res.body?.cancel();
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(Object.keys(refusedAt).sort()).toEqual(['ipam', 'quota']);
  expect(details).toEqual({ quota: 'token revoked', ipam: 'token revoked' });
  for (const ms of Object.values(refusedAt)) expect(ms).toBeLessThanOrEqual((CACHE_SECONDS + 1) * 1000);
});
