import path from 'node:path';
import { z } from 'zod';
import type { Role } from '@testbed/kit';
// By its file: the kit's index would load all of the kit into the portal's own process.
import { findUp } from '@testbed/kit/src/fs/find-up';
import type { PortalConfig, SignIn } from './portal-config-types';

const optionalUrl = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional());

/** The portal's own variables (both hosts). */
export const portalConfigShape = z.object({
  /** The identity provider's issuer; default AUTH_ISSUER when that is an http(s) URL. */
  PORTAL_OIDC_ISSUER: optionalUrl.optional(),
  PORTAL_OIDC_CLIENT_ID: z.string().min(1).default('testbed-portal'),
  PORTAL_OIDC_SCOPE: z.string().min(1).default('openid profile'),
  /**
   * The resource indicator (RFC 8707, an absolute URI) sent with the authorization and token
   * requests, for providers that issue a JWT access token per resource; none when empty.
   */
  PORTAL_OIDC_RESOURCE: z
    .string()
    .trim()
    .transform((v) => (v === '' ? undefined : v))
    .pipe(
      z
        .url({ error: 'must be an absolute URI, e.g. urn:testbed or https://testbed.example.org/api' })
        .optional(),
    )
    .optional(),
  /** Default: <the portal's origin>/auth/callback, worked out in the browser. */
  PORTAL_OIDC_REDIRECT_URI: optionalUrl.optional(),
  /** The REST API's origin when it is not the portal's own. */
  PORTAL_API_BASE: optionalUrl.optional(),
  /** The built portal (npm run build:portal). */
  PORTAL_DIST_DIR: z
    .string()
    .min(1)
    // Found from here: this file also runs bundled, from dist/portal/.
    .default(
      path.join(
        findUp(__dirname, path.join('services', 'portal', 'dist')) ??
          path.resolve(__dirname, '..', '..', '..', '..'),
        'services',
        'portal',
        'dist',
      ),
    ),
});

export type PortalEnv = z.infer<typeof portalConfigShape>;

interface AuthEnv {
  AUTH_JWKS_URL?: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
}

const isHttpUrl = (v: string) => /^https?:\/\/\S+$/.test(v);

function oidcSignIn(env: PortalEnv & AuthEnv): SignIn {
  const issuer = env.PORTAL_OIDC_ISSUER ?? (isHttpUrl(env.AUTH_ISSUER) ? env.AUTH_ISSUER : undefined);
  if (!issuer)
    return {
      method: 'unavailable',
      detail:
        `No identity provider to sign in with: AUTH_ISSUER is '${env.AUTH_ISSUER}', not a URL. ` +
        'Set PORTAL_OIDC_ISSUER (or AUTH_ISSUER) to the OpenID provider’s issuer URL.',
    };
  const resource = env.PORTAL_OIDC_RESOURCE;
  return {
    method: 'oidc',
    issuer,
    clientId: env.PORTAL_OIDC_CLIENT_ID,
    scope: env.PORTAL_OIDC_SCOPE,
    ...(resource ? { resource } : {}),
    ...(env.PORTAL_OIDC_REDIRECT_URI ? { redirectUri: env.PORTAL_OIDC_REDIRECT_URI } : {}),
  };
}

/**
 * The embedded default: the local sign-in while the local key is in use (no AUTH_JWKS_URL),
 * OpenID Connect once an identity provider is configured.
 */
export function embeddedPortalConfig(env: PortalEnv & AuthEnv, roles: readonly Role[]): PortalConfig {
  return {
    apiBase: env.PORTAL_API_BASE ?? '',
    signIn: env.AUTH_JWKS_URL
      ? oidcSignIn(env)
      : { method: 'local', tokenPath: '/v1/auth/local-token', roles },
  };
}

/**
 * The portal's own process in a cluster: it cannot issue tokens, so OpenID Connect only. Without
 * an identity provider the services each trust a key of their own pod, and nobody can sign in.
 */
export function standalonePortalConfig(env: PortalEnv & AuthEnv): PortalConfig {
  return {
    apiBase: env.PORTAL_API_BASE ?? '',
    signIn: env.AUTH_JWKS_URL
      ? oidcSignIn(env)
      : {
          method: 'unavailable',
          detail:
            'No identity provider is configured: set AUTH_JWKS_URL and AUTH_ISSUER (chart values config.*) ' +
            'to the OpenID provider the services trust.',
        },
  };
}
