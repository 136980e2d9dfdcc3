/**
 * A real OpenID Provider for the browser tests: `oidc-provider` (a certified implementation) on
 * loopback, in a child process of its own (the package is ESM only). It signs users in through its
 * own interaction pages (login, then consent), issues JWT access tokens for the resource
 * `urn:testbed` with audience `testbed` and a `role` claim, and publishes its JWKS, which the
 * platform is started with (AUTH_JWKS_URL). Run by test/browser/support/oidc.ts:
 *   tsx identity-provider.ts <portal origin> <users JSON>   → prints "ISSUER <url>" once listening
 */
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

const OIDC_CLIENT_ID = 'testbed-portal';
const OIDC_RESOURCE = 'urn:testbed';
const OIDC_AUDIENCE = 'testbed';

interface Account {
  sub: string;
  role: string;
  name: string;
}

async function main(): Promise<void> {
  const [portalOrigin, usersJson] = process.argv.slice(2);
  if (!portalOrigin || !usersJson)
    throw new Error('usage: identity-provider.ts <portal origin> <users JSON>');
  const users = JSON.parse(usersJson) as Account[];
  // The specifier is a variable so this CommonJS file keeps a real import() of the ESM package.
  const specifier = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as {
    default: new (issuer: string, config: object) => { callback(): http.RequestListener; proxy: boolean };
  };

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-es256', alg: 'ES256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: OIDC_CLIENT_ID,
        // A public client (a web page keeps no secret): PKCE is what protects the code.
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [`${portalOrigin}/auth/callback`],
        post_logout_redirect_uris: [`${portalOrigin}/signin`],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name'] },
    scopes: ['openid', 'profile'],
    async findAccount(_ctx: unknown, id: string) {
      const account = users.find((u) => u.sub === id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, name: account.name }) };
    },
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => OIDC_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== OIDC_RESOURCE) throw new Error(`unknown resource ${resource}`);
          return {
            scope: 'openid profile',
            audience: OIDC_AUDIENCE,
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
      rpInitiatedLogout: { enabled: true },
    },
    // The claim the platform reads the role from (services/kit/src/auth/jwt-authenticator.ts).
    async extraTokenClaims(_ctx: unknown, token: { accountId?: string }) {
      const account = users.find((u) => u.sub === token.accountId);
      return account ? { role: account.role } : {};
    },
    ttl: { AccessToken: 3600, IdToken: 3600, Session: 3600, Interaction: 600, Grant: 3600 },
  });
  server.on('request', provider.callback());
  process.stdout.write(`ISSUER ${issuer}\n`);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `identity provider failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
