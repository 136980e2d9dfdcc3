/**
 * The rig's image registry answers the registry API on 127.0.0.1 over plain HTTP, and every node's
 * daemon treats it as an insecure registry (dockerd's default for 127.0.0.0/8), so no TLS is needed.
 */
import { loadRigEnv, nodeDocker, required, rigNodes } from '@testbed/test-support/rig';

const env = loadRigEnv();
const registry = required(env, 'TESTBED_REGISTRY');

test('is on 127.0.0.1 and answers GET /v2/ as a registry/2.0 API', async () => {
  expect(registry).toMatch(/^127\.0\.0\.1:\d+$/);
  const res = await fetch(`http://${registry}/v2/`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
});

test.each(rigNodes(env))('%s trusts 127.0.0.0/8 registries over plain HTTP', async (node) => {
  const info = (await nodeDocker(env, node).info()) as {
    RegistryConfig?: { InsecureRegistryCIDRs?: string[] };
  };
  expect(info.RegistryConfig?.InsecureRegistryCIDRs).toContain('127.0.0.0/8');
});
