import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  contentSecurityPolicy,
  embeddedPortalConfig,
  portalConfigShape,
  portalRouter,
  standalonePortalConfig,
} from '../src';

/** A dist folder like Vite's: index.html and a hashed asset. */
function fakeBuild(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-dist-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>portal</title>');
  fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  return dir;
}

async function serve(router: express.Router): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.use('/v1/pools', (_req, res) => {
    res.json({ items: [] });
  });
  app.use(router);
  app.use((_req, res) => {
    res.status(404).type('application/problem+json').send('{"status":404}');
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const env = (over: Record<string, string> = {}) => ({
  ...portalConfigShape.parse(over),
  AUTH_ISSUER: over.AUTH_ISSUER ?? 'testbed-local',
  AUTH_AUDIENCE: 'testbed',
  ...(over.AUTH_JWKS_URL ? { AUTH_JWKS_URL: over.AUTH_JWKS_URL } : {}),
});

test('serves the page for every client route with a strict CSP, assets for good, the API untouched', async () => {
  const dist = fakeBuild();
  const config = embeddedPortalConfig(env(), ['user', 'operator', 'service']);
  const s = await serve(portalRouter({ distDir: dist, config }));
  try {
    for (const p of ['/', '/nodes', '/containers/3b1c', '/monitor?node=node1', '/auth/callback?code=x']) {
      const res = await fetch(s.url + p, { headers: { accept: 'text/html' } });
      expect([p, res.status]).toEqual([p, 200]);
      expect(await res.text()).toContain('<title>portal</title>');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
    }
    const asset = await fetch(`${s.url}/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // Neither a missing asset nor an API path becomes the page.
    expect((await fetch(`${s.url}/assets/gone.js`)).status).toBe(404);
    expect((await fetch(`${s.url}/v1/nothing`, { headers: { accept: 'text/html' } })).status).toBe(404);
    expect((await fetch(`${s.url}/docs`, { headers: { accept: 'text/html' } })).status).toBe(404);
    expect(await (await fetch(`${s.url}/v1/pools`)).json()).toEqual({ items: [] });
    // A client route asked for as JSON is not the page either.
    expect((await fetch(`${s.url}/nodes`, { headers: { accept: 'application/json' } })).status).toBe(404);
    const cfg = await fetch(`${s.url}/portal-config.json`);
    expect(await cfg.json()).toEqual({
      apiBase: '',
      signIn: { method: 'local', tokenPath: '/v1/auth/local-token', roles: ['user', 'operator', 'service'] },
    });
  } finally {
    await s.close();
    fs.rmSync(dist, { recursive: true, force: true });
  }
});

test('without a build, the page says how to make one', async () => {
  const s = await serve(
    portalRouter({ distDir: '/nonexistent/dist', config: standalonePortalConfig(env()) }),
  );
  try {
    const res = await fetch(`${s.url}/nodes`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/npm run build:portal/);
  } finally {
    await s.close();
  }
});

test('sign-in: local while the local key is trusted, OpenID Connect with an identity provider, else why not', () => {
  expect(embeddedPortalConfig(env(), ['user']).signIn).toEqual({
    method: 'local',
    tokenPath: '/v1/auth/local-token',
    roles: ['user'],
  });
  const idp = env({ AUTH_JWKS_URL: 'https://idp.example.org/jwks', AUTH_ISSUER: 'https://idp.example.org' });
  const oidc = {
    method: 'oidc',
    issuer: 'https://idp.example.org',
    clientId: 'testbed-portal',
    scope: 'openid profile',
  };
  expect(embeddedPortalConfig(idp, ['user']).signIn).toEqual(oidc);
  expect(standalonePortalConfig(idp).signIn).toEqual(oidc);
  const custom = env({
    AUTH_JWKS_URL: 'https://idp.example.org/jwks',
    AUTH_ISSUER: 'https://idp.example.org',
    PORTAL_OIDC_ISSUER: 'https://login.example.org/realms/testbed',
    PORTAL_OIDC_CLIENT_ID: 'portal',
    PORTAL_OIDC_RESOURCE: 'urn:testbed',
    PORTAL_OIDC_REDIRECT_URI: 'https://testbed.example.org/auth/callback',
    PORTAL_API_BASE: 'https://api.testbed.example.org',
  });
  expect(standalonePortalConfig(custom)).toEqual({
    apiBase: 'https://api.testbed.example.org',
    signIn: {
      method: 'oidc',
      issuer: 'https://login.example.org/realms/testbed',
      clientId: 'portal',
      scope: 'openid profile',
      resource: 'urn:testbed',
      redirectUri: 'https://testbed.example.org/auth/callback',
    },
  });
  // The page may connect to its own origin, the API's and the provider's, and nowhere else.
  expect(contentSecurityPolicy(standalonePortalConfig(custom))).toContain(
    "connect-src 'self' https://api.testbed.example.org https://login.example.org",
  );
  // The standalone portal cannot issue tokens; without a provider it says what to configure.
  const none = standalonePortalConfig(env());
  expect(none.signIn.method).toBe('unavailable');
  expect(none.signIn).toMatchObject({ detail: expect.stringMatching(/AUTH_JWKS_URL and AUTH_ISSUER/) });
  const noIssuer = embeddedPortalConfig(env({ AUTH_JWKS_URL: 'https://idp.example.org/jwks' }), ['user']);
  expect(noIssuer.signIn).toMatchObject({
    method: 'unavailable',
    detail: expect.stringMatching(/PORTAL_OIDC_ISSUER/),
  });
});

test('its variables are checked: URLs and a resource indicator that is a URI', () => {
  const bad = portalConfigShape.safeParse({
    PORTAL_OIDC_ISSUER: 'not a url',
    PORTAL_OIDC_RESOURCE: 'testbed',
  });
  expect(bad.success).toBe(false);
  expect(bad.error!.issues.map((i) => i.path[0]).sort()).toEqual([
    'PORTAL_OIDC_ISSUER',
    'PORTAL_OIDC_RESOURCE',
  ]);
  // Empty values (the chart leaves unset ones empty) mean unset.
  expect(portalConfigShape.parse({ PORTAL_OIDC_ISSUER: '', PORTAL_API_BASE: '' })).toMatchObject({
    PORTAL_OIDC_ISSUER: undefined,
    PORTAL_API_BASE: undefined,
  });
});
