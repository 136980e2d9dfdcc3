/**
 * The rig's Docker daemons (testbed nodes) answer over TLS on 127.0.0.1 with the platform's client
 * certificate, and refuse a client that has none.
 */
import https from 'node:https';
import { loadRigEnv, nodeDocker, nodeEndpoint, rigNodes, tlsFiles } from '@testbed/test-support/rig';

const env = loadRigEnv();

/** GET path over TLS with the CA only (no client certificate): resolves with the status code. */
function getWithoutClientCert(node: string, path: string): Promise<number> {
  const { host, port } = nodeEndpoint(env, node);
  return new Promise((resolve, reject) => {
    const req = https.get({ host, port, path, ca: tlsFiles(env).ca, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

describe.each(rigNodes(env))('Docker daemon %s', (node) => {
  test('answers /version over TLS with the client certificate (API 1.41)', async () => {
    const version = await nodeDocker(env, node).version();
    expect(version.ApiVersion).toBe('1.41');
    expect(version.Version).toMatch(/^20\.10\./);
  });

  test('refuses a TLS client without a client certificate', async () => {
    // A TLS-level refusal (alert "bad certificate" or a reset), not "connection refused".
    await expect(getWithoutClientCert(node, '/version')).rejects.toMatchObject({
      code: expect.stringMatching(/^(ERR_SSL_|ECONNRESET|EPIPE)/),
    });
  });
});

test('the three daemons are distinct engines', async () => {
  const ids = await Promise.all(rigNodes(env).map(async (node) => (await nodeDocker(env, node).info()).ID));
  expect(new Set(ids).size).toBe(ids.length);
});
