/**
 * Sign-in through OpenID Connect in Chromium: a real OpenID provider (oidc-provider, in a child
 * process on loopback) whose JWKS the platform trusts (AUTH_JWKS_URL); the portal's authorization
 * code flow with PKCE (S256) through the provider's own login and consent pages; the JWT access
 * token (audience `testbed`, a `role` claim) used as Bearer; sign-out at the provider too. With an
 * identity provider configured the local sign-in is not offered. No containers are made.
 */
import type { Browser, Request } from 'playwright-core';
import { startPortalPlatform, type PortalPlatform } from './support/platform';
import { LAPTOP, launchChromium, newContext, screenshot, watchErrors } from './support/browser';
import { seriousViolations } from './support/page-checks';
import {
  OIDC_AUDIENCE,
  OIDC_CLIENT_ID,
  OIDC_RESOURCE,
  freePort,
  startIdentityProvider,
  type IdentityProvider,
} from './support/oidc';

jest.setTimeout(180_000);

let idp: IdentityProvider;
let platform: PortalPlatform;
let browser: Browser;

beforeAll(async () => {
  const port = await freePort();
  idp = await startIdentityProvider(`http://127.0.0.1:${port}`, [
    { sub: 'carol', role: 'user', name: 'Carol' },
    { sub: 'olga', role: 'operator', name: 'Olga' },
  ]);
  platform = await startPortalPlatform({
    name: 'portal-oidc',
    range: '10.64.99.206-10.64.99.207',
    secondaryRange: '172.10.0.206-172.10.0.207',
    nodes: [],
    env: {
      PORT: String(port),
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: OIDC_AUDIENCE,
      PORTAL_OIDC_CLIENT_ID: OIDC_CLIENT_ID,
      PORTAL_OIDC_RESOURCE: OIDC_RESOURCE,
    },
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await platform?.stop();
  await idp?.stop();
}, 60_000);

interface Claims {
  sub: string;
  aud: string | string[];
  iss: string;
  role?: string;
}
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Claims;

test('the portal offers the identity provider, not the local sign-in', async () => {
  const config = (await (await fetch(`${platform.url}/portal-config.json`)).json()) as { signIn: object };
  expect(config.signIn).toEqual({
    method: 'oidc',
    issuer: idp.issuer,
    clientId: OIDC_CLIENT_ID,
    scope: 'openid profile',
    resource: OIDC_RESOURCE,
  });
  const local = await fetch(`${platform.url}/v1/auth/local-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'mallory', role: 'operator' }),
  });
  expect(local.status).toBe(404);
  // The page may talk to the provider (discovery, token) and nowhere else.
  const csp = (await fetch(`${platform.url}/nodes`, { headers: { accept: 'text/html' } })).headers.get(
    'content-security-policy',
  );
  expect(csp).toContain(`connect-src 'self' ${idp.issuer}`);
});

test('signs in with the authorization code flow and PKCE through the provider’s pages; the token works; signs out', async () => {
  const context = await newContext(browser, LAPTOP);
  const page = await context.newPage();
  const errors = watchErrors(page, platform.url);
  const requests: Request[] = [];
  page.on('request', (r) => requests.push(r));

  await page.goto(`${platform.url}/operations`);
  await page.getByRole('heading', { name: 'Sign in to the testbed' }).waitFor();
  expect(await page.getByText(idp.issuer).count()).toBe(1);
  expect(await page.getByLabel('User name').count()).toBe(0);
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, 'signin-oidc');
  await page.getByRole('button', { name: 'Sign in with the identity provider' }).click();

  // The provider's own login page, then its consent page.
  await page.waitForURL((u) => u.origin === idp.issuer, { timeout: 20_000 });
  await page.locator('input[name="login"]').fill('carol');
  await page.locator('input[name="password"]').fill('any password');
  await screenshot(page, 'oidc-provider-login');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();

  // Back in the portal, where the sign-in started.
  await page.getByRole('heading', { name: 'Operations', level: 1 }).waitFor({ timeout: 20_000 });
  expect(new URL(page.url()).pathname).toBe('/operations');
  expect(await page.getByTestId('signed-in-user').textContent()).toBe('carol');
  expect(await page.locator('.who-role').textContent()).toBe('(user)');
  await page.getByText('No operations.').waitFor();
  expect(await page.getByRole('alert').count()).toBe(0);

  // The authorization request: code flow, S256 challenge, the resource; the token request: the verifier.
  const authorize = new URL(requests.find((r) => r.url().startsWith(`${idp.issuer}/auth`))!.url());
  expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
    response_type: 'code',
    client_id: OIDC_CLIENT_ID,
    redirect_uri: `${platform.url}/auth/callback`,
    code_challenge_method: 'S256',
    resource: OIDC_RESOURCE,
  });
  expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const tokenRequest = requests.find((r) => r.url() === `${idp.issuer}/token` && r.method() === 'POST')!;
  const form = new URLSearchParams(tokenRequest.postData() ?? '');
  expect(form.get('grant_type')).toBe('authorization_code');
  expect(form.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);

  // The access token: a JWT of the provider for the audience the services check, with the role.
  const session = JSON.parse(
    (await page.evaluate(() =>
      (globalThis as unknown as { sessionStorage: { getItem(k: string): string } }).sessionStorage.getItem(
        'testbed.session',
      ),
    )) ?? '{}',
  ) as { token: string };
  const claims = claimsOf(session.token);
  expect(claims).toMatchObject({ sub: 'carol', iss: idp.issuer, role: 'user' });
  expect([claims.aud].flat()).toEqual([OIDC_AUDIENCE]);
  // Every API call went with it as Bearer; the services verified it against the provider's JWKS.
  const apiCalls = requests.filter((r) => new URL(r.url()).pathname.startsWith('/v1/'));
  expect(apiCalls.length).toBeGreaterThan(0);
  for (const r of apiCalls) expect(await r.headerValue('authorization')).toBe(`Bearer ${session.token}`);
  const res = await fetch(`${platform.url}/v1/containers`, {
    headers: { authorization: `Bearer ${session.token}` },
  });
  expect(res.status).toBe(200);

  // Sign out: at the provider too (its own confirmation), back to the sign-in page.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.origin === idp.issuer, { timeout: 20_000 });
  await page.getByRole('button', { name: /yes/i }).click();
  await page.getByRole('heading', { name: 'Sign in to the testbed' }).waitFor({ timeout: 20_000 });
  await page.goto(`${platform.url}/operations`);
  await page.getByRole('heading', { name: 'Sign in to the testbed' }).waitFor();
  expect(errors).toEqual([]);
  await context.close();
});

test('an operator’s role comes from the token’s claim', async () => {
  const page = await (await newContext(browser, LAPTOP)).newPage();
  await page.goto(`${platform.url}/users`);
  await page.getByRole('button', { name: 'Sign in with the identity provider' }).click();
  await page.waitForURL((u) => u.origin === idp.issuer);
  await page.locator('input[name="login"]').fill('olga');
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Users and quotas', level: 1 }).waitFor({ timeout: 20_000 });
  expect(await page.locator('.who-role').textContent()).toBe('(operator)');
  expect(await page.getByRole('link', { name: 'Users & quotas' }).count()).toBe(1);
  // The operator-only list answered (a user's token gets 403 there).
  await page.locator('main table').waitFor();
  expect(await page.getByRole('alert').count()).toBe(0);
});

test('a callback that does not belong to a sign-in under way is refused, saying why', async () => {
  const page = await (await newContext(browser, LAPTOP)).newPage();
  await page.goto(`${platform.url}/auth/callback?code=forged&state=forged`);
  await page.getByRole('alert').filter({ hasText: 'The sign-in did not complete' }).waitFor();
  expect(await page.getByRole('alert').textContent()).toMatch(/No sign-in was under way in this tab/);
  await page.goto(`${platform.url}/auth/callback?error=access_denied&error_description=the+user+said+no`);
  await page
    .getByRole('alert')
    .filter({ hasText: 'refused the sign-in: access_denied (the user said no)' })
    .waitFor();
  expect(await page.getByTestId('signed-in-user').count()).toBe(0);
});
