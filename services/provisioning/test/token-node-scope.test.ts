/**
 * An API token scoped to nodes creates containers and batches on those nodes only: anything on
 * another node is a 403 naming it, refused before any work starts (no Docker daemon needed).
 */
import { createProvisioningService, defaultProvisioningConfig } from '@testbed/provisioning';
import { createQuotaService, defaultQuotaConfig } from '@testbed/quota';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';

let t: TestHost;
let token: string;

beforeAll(async () => {
  t = await startTestHost({
    name: 'token-node-scope',
    database: 'pglite',
    bus: 'in-process',
    apiTokens: { url: 'self' },
    modules: (deps) => [
      createQuotaService({ ...deps, source: 'quota', config: defaultQuotaConfig }),
      createProvisioningService({ ...deps, source: 'provisioning', config: defaultProvisioningConfig }),
    ],
  });
  const res = await t.call('ops', 'operator', '/v1/tokens', {
    method: 'POST',
    body: JSON.stringify({
      name: 'node1 only',
      subject: 'frank',
      role: 'user',
      nodes: ['node1'],
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    }),
  });
  expect(res.status).toBe(201);
  ({ token } = (await res.json()) as { token: string });
}, 120_000);
afterAll(() => t?.stop());

const post = (pathname: string, body: unknown) =>
  fetch(t.url + pathname, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('a container on a node outside the token scope is refused with 403', async () => {
  const res = await post('/v1/containers', { node: 'node2', name: 'c1', image: 'alpine:3' });
  expect(res.status).toBe(403);
  expect(await res.json()).toMatchObject({
    detail: "this token is scoped to 'node1': not 'node2'",
    nodes: ['node2'],
  });
  // In scope, the request goes on to provisioning's own checks (this host knows no node1).
  expect((await post('/v1/containers', { node: 'node1', name: 'c1', image: 'alpine:3' })).status).not.toBe(
    403,
  );
});

test('a batch touching a node outside the token scope is refused with 403', async () => {
  const res = await post('/v1/batches', {
    namePrefix: 'b',
    count: 2,
    image: 'alpine:3',
    nodes: ['node1', 'node2'],
  });
  expect(res.status).toBe(403);
  expect(await res.json()).toMatchObject({ nodes: ['node2'] });
});
