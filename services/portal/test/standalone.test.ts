/** The portal's own process (the chart's Deployment), started as its main.ts is, on port 0. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createLogger } from '@testbed/kit';
import { standalonePortalSchema, startPortalServer } from '../src/server/standalone';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

test('health, readiness (503 without a build and once stopping), metrics, the config from its environment', async () => {
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-standalone-'));
  const config = standalonePortalSchema.parse({
    PORT: '0',
    LISTEN_HOST: '127.0.0.1',
    AUTH_JWKS_URL: 'https://idp.example.org/jwks',
    AUTH_ISSUER: 'https://idp.example.org',
    PORTAL_DIST_DIR: dist,
    SHUTDOWN_DELAY_MS: '200',
  });
  const portal = await startPortalServer(config, createLogger({ name: 'portal', level: 'silent' }));
  try {
    expect(await (await fetch(`${portal.url}/healthz`)).json()).toEqual({ status: 'ok', service: 'portal' });
    const notBuilt = await fetch(`${portal.url}/readyz`);
    expect(notBuilt.status).toBe(503);
    expect(((await notBuilt.json()) as { checks: { name: string; ok: boolean }[] }).checks[0]).toMatchObject({
      name: 'build',
      ok: false,
    });
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>p</title>');
    expect((await fetch(`${portal.url}/readyz`)).status).toBe(200);
    const page = await fetch(`${portal.url}/reservations`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain(
      "connect-src 'self' https://idp.example.org",
    );
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await (await fetch(`${portal.url}/portal-config.json`)).json()).toMatchObject({
      signIn: { method: 'oidc', issuer: 'https://idp.example.org', clientId: 'testbed-portal' },
    });
    const missing = await fetch(`${portal.url}/v1/nodes`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/problem\+json/);
    const metrics = await (await fetch(`${portal.url}/metrics`)).text();
    expect(metrics).toMatch(/portal_http_requests_total\{kind="page",status="200"\} 1/);
    expect(metrics).toMatch(/process_cpu_seconds_total/);
    // Shutdown: readiness turns 503 first, during the delay.
    const stopping = portal.stop();
    expect((await fetch(`${portal.url}/readyz`)).status).toBe(503);
    await stopping;
  } finally {
    fs.rmSync(dist, { recursive: true, force: true });
  }
});

test('main.ts refuses a bad configuration with one message naming every problem', async () => {
  const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['services/portal/src/main.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, PORT: 'eighty', PORTAL_OIDC_ISSUER: 'nope' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stderr.on('data', (b: Buffer) => (text += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  expect(code).toBe(2);
  expect(text).toMatch(/portal: cannot start/);
  expect(text).toMatch(/PORT: /);
  expect(text).toMatch(/PORTAL_OIDC_ISSUER: must be an http\(s\) URL/);
}, 30_000);
