/**
 * The embedded default's local sign-in (services/embedded/src/local-sign-in.ts): while the local
 * key is what the services trust, `POST /v1/auth/local-token` issues a token of it that the API
 * takes; with an identity provider configured (AUTH_JWKS_URL) the route does not exist.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@testbed/kit';
import { embeddedConfigSchema } from '../../services/embedded/src/config';
import { startEmbedded, type EmbeddedPlatform } from '../../services/embedded/src/start-embedded';

jest.setTimeout(60_000);

async function start(env: Record<string, string> = {}): Promise<{ platform: EmbeddedPlatform; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-sign-in-'));
  const config = embeddedConfigSchema.parse({
    PORT: '0',
    DATA_DIR: dir,
    DATABASE_URL: 'pglite://memory',
    PROVISIONING_LOCAL_NODE: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const platform = await startEmbedded(config, {
    logger: createLogger({ name: 'sign-in', level: 'silent' }),
  });
  return { platform, dir };
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/auth/local-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('issues a token of the local key for a user name and role, which the API takes', async () => {
  const { platform, dir } = await start();
  try {
    const url = platform.host.url;
    const res = await post(url, { user: 'alice', role: 'operator' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { accessToken: string; tokenType: string; user: string; role: string };
    expect(body).toMatchObject({ tokenType: 'Bearer', user: 'alice', role: 'operator', expiresIn: 43200 });
    const claims = JSON.parse(Buffer.from(body.accessToken.split('.')[1]!, 'base64url').toString()) as object;
    expect(claims).toMatchObject({ sub: 'alice', role: 'operator', iss: 'testbed-local', aud: 'testbed' });
    const pools = await fetch(`${url}/v1/pools`, {
      headers: { authorization: `Bearer ${body.accessToken}` },
    });
    expect(pools.status).toBe(200);
    // The default role is user; a bad name or role is refused naming the field.
    const plain = (await (await post(url, { user: 'bob' })).json()) as { role: string };
    expect(plain.role).toBe('user');
    const bad = await post(url, { user: '../root', role: 'admin' });
    expect(bad.status).toBe(422);
    const problem = (await bad.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path).sort()).toEqual(['body.role', 'body.user']);
  } finally {
    await platform.host.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('with an identity provider configured, there is no local sign-in', async () => {
  const { platform, dir } = await start({
    AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks',
    AUTH_ISSUER: 'http://127.0.0.1:9',
  });
  try {
    expect((await post(platform.host.url, { user: 'mallory', role: 'operator' })).status).toBe(404);
    const config = (await (await fetch(`${platform.host.url}/portal-config.json`)).json()) as {
      signIn: { method: string };
    };
    expect(config.signIn.method).toBe('oidc');
  } finally {
    await platform.host.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
