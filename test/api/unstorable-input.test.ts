/**
 * Every service: a string the database cannot store (a NUL, a lone UTF-16 surrogate), in a field,
 * in a key of a free-form object or in the query, is a 422 naming the field, decided at the edge,
 * never a database error (500). ipam, quota and provisioning in one host on PGlite.
 */
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig } from '@testbed/quota';
import { createProvisioningService, defaultProvisioningConfig } from '@testbed/provisioning';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';

let t: TestHost;
type Problem = { status: number; errors?: { path: string; message: string }[] };

beforeAll(async () => {
  t = await startTestHost({
    name: 'unstorable-input',
    database: 'pglite',
    bus: 'in-process',
    modules: (deps) => [
      createIpamService({ ...deps, source: 'ipam', config: defaultIpamConfig }),
      createQuotaService({
        ...deps,
        source: 'quota',
        config: { ...defaultQuotaConfig, QUOTA_KNOWN_NODES: 'node1' },
      }),
      createProvisioningService({ ...deps, source: 'provisioning', config: defaultProvisioningConfig }),
    ],
  });
});
afterAll(() => t.stop());

const NUL = 'a\u0000b';
const HALF = 'x\ud800';

test.each([
  ['ipam', 'POST', '/v1/pools/experiment/allocations', { owner: NUL }, 'body.owner'],
  [
    'ipam',
    'GET',
    `/v1/pools/experiment/allocations?owner=${encodeURIComponent(NUL)}`,
    undefined,
    'query.owner',
  ],
  [
    'quota',
    'POST',
    '/v1/reservations',
    { user: HALF, nodes: ['node1'], start: '2031-01-01T00:00:00Z', end: '2031-01-01T01:00:00Z' },
    'body.user',
  ],
  ['quota', 'GET', `/v1/reservations?user=${encodeURIComponent(NUL)}`, undefined, 'query.user'],
  ['provisioning', 'PATCH', '/v1/nodes/node1', { labels: { [`room${'\u0000'}`]: '1' } }, 'body.labels'],
  ['provisioning', 'GET', `/v1/operations?owner=${encodeURIComponent(NUL)}`, undefined, 'query.owner'],
])('%s: %s %s is a 422 naming the field', async (_service, method, path, body, field) => {
  const res = await t.call('ops', 'operator', path, {
    method,
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.status).toBe(422);
  const problem = (await res.json()) as Problem;
  expect(problem.errors).toContainEqual({ path: field, message: expect.stringMatching(/cannot be stored/) });
});

test('a token whose subject cannot be stored is no identity here (401), not a 500 later', async () => {
  const res = await t.call('a\u0000b', 'user', '/v1/pools');
  expect(res.status).toBe(401);
});
