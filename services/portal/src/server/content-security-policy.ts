import type { PortalConfig } from './portal-config-types';

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

/**
 * The portal's Content-Security-Policy: its own scripts and styles only (no inline script or
 * style element, no eval), images from itself and data: (Chart.js exports none here), and
 * connections to itself, the API's origin and the identity provider's (discovery, token).
 */
export function contentSecurityPolicy(config: PortalConfig): string {
  const connect = new Set(["'self'"]);
  if (config.apiBase) connect.add(originOf(config.apiBase) ?? "'self'");
  if (config.signIn.method === 'oidc') connect.add(originOf(config.signIn.issuer) ?? "'self'");
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${[...connect].join(' ')}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}
