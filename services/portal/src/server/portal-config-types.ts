/**
 * What `/portal-config.json` says: built by portal-config.ts on the server, read by the page in
 * the browser. Types only and no imports, so the browser code (its own tsconfig, no Node) imports
 * this module too and both sides state the shape once.
 */

/** The kit's ROLES (services/kit/src/auth/principal.ts), which the browser code cannot import. */
export type Role = 'user' | 'operator' | 'service';

/** How the portal in the browser signs a person in. */
export type SignIn =
  /** The embedded default: `POST /v1/auth/local-token` issues a token of the local key for a user name. */
  | { method: 'local'; tokenPath: string; roles: readonly Role[] }
  /** OpenID Connect, authorization code with PKCE (S256), against the issuer the services trust. */
  | {
      method: 'oidc';
      issuer: string;
      clientId: string;
      scope: string;
      /** RFC 8707 resource indicator: the audience the access token is for. */
      resource?: string;
      /** Default: the portal's origin + /auth/callback. */
      redirectUri?: string;
    }
  /** Nobody can sign in with this configuration; the detail says what to set. */
  | { method: 'unavailable'; detail: string };

export interface PortalConfig {
  /** Origin of the REST API when it is not the portal's own (empty: same origin). */
  apiBase: string;
  signIn: SignIn;
}
