/**
 * Every answer of every route has a schema in the OpenAPI document (a 204 has no body, so none):
 * clients are generated from it, and an answer without one is an answer nobody can rely on.
 */
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig } from '@testbed/quota';
import { createProvisioningService, defaultProvisioningConfig } from '@testbed/provisioning';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';

let t: TestHost;
afterAll(() => t?.stop());

test('every route of ipam, quota and provisioning documents the schema of each answer', async () => {
  t = await startTestHost({
    name: 'openapi-answers',
    database: 'pglite',
    bus: 'in-process',
    modules: (deps) => [
      createIpamService({ ...deps, source: 'ipam', config: defaultIpamConfig }),
      createQuotaService({ ...deps, source: 'quota', config: defaultQuotaConfig }),
      createProvisioningService({ ...deps, source: 'provisioning', config: defaultProvisioningConfig }),
    ],
  });
  const doc = (await (await fetch(`${t.url}/v1/openapi.json`)).json()) as {
    paths: Record<
      string,
      Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>
    >;
  };
  const missing: string[] = [];
  let answers = 0;
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (status === 'default' || status === '204') continue;
        answers++;
        const schemas = Object.values(response.content ?? {}).map((c) => c.schema);
        if (schemas.length === 0 || schemas.some((s) => !s))
          missing.push(`${method.toUpperCase()} ${path} ${status}`);
      }
    }
  }
  expect(answers).toBeGreaterThan(40);
  expect(missing).toEqual([]);
});
