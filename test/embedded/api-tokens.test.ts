/**
 * The embedded default checks API tokens in its own process (quota runs there; no
 * AUTH_TOKENS_URL): an operator's token works on every service's routes until revoked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@testbed/kit';
import { embeddedConfigSchema } from '../../services/embedded/src/config';
import { startEmbedded } from '../../services/embedded/src/start-embedded';

jest.setTimeout(60_000);

test('an API token issued in the embedded default authenticates there until revoked', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-tokens-'));
  const config = embeddedConfigSchema.parse({
    PORT: '0',
    DATA_DIR: dir,
    DATABASE_URL: 'pglite://memory',
    PROVISIONING_LOCAL_NODE: 'false',
    STATS_LOCAL_AGENT: 'false',
    AUTH_TOKEN_CACHE_SECONDS: '0',
    LOG_LEVEL: 'silent',
  });
  const platform = await startEmbedded(config, { logger: createLogger({ name: 'tokens', level: 'silent' }) });
  try {
    const url = platform.host.url;
    const signIn = await fetch(`${url}/v1/auth/local-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'ops', role: 'operator' }),
    });
    const { accessToken } = (await signIn.json()) as { accessToken: string };
    const asOperator = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' };
    const issued = await fetch(`${url}/v1/tokens`, {
      method: 'POST',
      headers: asOperator,
      body: JSON.stringify({
        name: 'script',
        subject: 'ci-bot',
        role: 'service',
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      }),
    });
    expect(issued.status).toBe(201);
    const { id, token } = (await issued.json()) as { id: string; token: string };
    const withToken = { authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/v1/pools`, { headers: withToken })).status).toBe(200);
    expect((await fetch(`${url}/v1/users`, { headers: withToken })).status).toBe(200);

    expect((await fetch(`${url}/v1/tokens/${id}`, { method: 'DELETE', headers: asOperator })).status).toBe(
      204,
    );
    const refused = await fetch(`${url}/v1/pools`, { headers: withToken });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ detail: 'token revoked' });
  } finally {
    await platform.host.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
