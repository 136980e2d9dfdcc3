import type { SignIn } from '../api/types';
import { claimsOf, sessionFromToken, type Session } from './session';

/**
 * OpenID Connect in the browser: authorization code with PKCE (S256), a public client (no
 * secret in a web page), state and nonce checked on the way back. The access token is what the
 * services verify against the provider's JWKS; the portal only reads its claims.
 */

type OidcSignIn = Extract<SignIn, { method: 'oidc' }>;

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  returnTo: string;
}

const PENDING = 'testbed.oidc.pending';

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const randomText = (n = 32): string => base64url(crypto.getRandomValues(new Uint8Array(n)));

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function redirectUriOf(cfg: OidcSignIn): string {
  return cfg.redirectUri ?? `${location.origin}/auth/callback`;
}

async function discover(issuer: string): Promise<Discovery> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new Error(`The identity provider at ${issuer} did not answer (${(err as Error).message}).`, {
      cause: err,
    });
  }
  if (!res.ok) throw new Error(`The identity provider's discovery document ${url} answered ${res.status}.`);
  const doc = (await res.json()) as Discovery;
  if (doc.issuer.replace(/\/$/, '') !== issuer.replace(/\/$/, ''))
    throw new Error(`The discovery document names issuer ${doc.issuer}, not ${issuer}.`);
  return doc;
}

/** Leaves for the provider's sign-in page; comes back to /auth/callback. */
export async function beginOidcSignIn(cfg: OidcSignIn, returnTo: string): Promise<void> {
  const doc = await discover(cfg.issuer);
  const pending: PendingSignIn = {
    state: randomText(),
    nonce: randomText(),
    verifier: randomText(48),
    redirectUri: redirectUriOf(cfg),
    returnTo,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(doc.authorization_endpoint);
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: pending.redirectUri,
    scope: cfg.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
    ...(cfg.resource ? { resource: cfg.resource } : {}),
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  location.assign(url.toString());
}

/** The way back: checks state, trades the code (with the PKCE verifier) for the tokens. */
export async function completeOidcSignIn(
  cfg: OidcSignIn,
  query: URLSearchParams,
): Promise<{ session: Session; returnTo: string }> {
  const raw = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  if (query.get('error'))
    throw new Error(
      `The identity provider refused the sign-in: ${query.get('error')}${
        query.get('error_description') ? ` (${query.get('error_description')})` : ''
      }.`,
    );
  if (!raw) throw new Error('No sign-in was under way in this tab: start again from the sign-in page.');
  const pending = JSON.parse(raw) as PendingSignIn;
  if (query.get('state') !== pending.state)
    throw new Error('The answer from the identity provider does not belong to this sign-in (state differs).');
  const code = query.get('code');
  if (!code) throw new Error('The identity provider sent no authorization code.');

  const doc = await discover(cfg.issuer);
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: pending.redirectUri,
    client_id: cfg.clientId,
    code_verifier: pending.verifier,
    ...(cfg.resource ? { resource: cfg.resource } : {}),
  });
  const res = await fetch(doc.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: form,
  });
  const tokens = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    id_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok || !tokens.access_token)
    throw new Error(
      `The identity provider did not issue a token: ${tokens.error ?? res.status}${
        tokens.error_description ? ` (${tokens.error_description})` : ''
      }.`,
    );
  if (tokens.access_token.split('.').length !== 3)
    throw new Error(
      `The identity provider issued an opaque access token; the services need a JWT access token${
        cfg.resource ? ` for the resource ${cfg.resource}` : ''
      }.`,
    );
  if (tokens.id_token) {
    const id = JSON.parse(
      new TextDecoder().decode(
        Uint8Array.from(atob(tokens.id_token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')), (c) =>
          c.charCodeAt(0),
        ),
      ),
    ) as { nonce?: string; aud?: string | string[] };
    const aud = Array.isArray(id.aud) ? id.aud : [id.aud];
    if (id.nonce !== pending.nonce || !aud.includes(cfg.clientId))
      throw new Error('The id token from the identity provider is not for this sign-in (nonce or audience).');
  }
  claimsOf(tokens.access_token);
  return {
    session: sessionFromToken(tokens.access_token, 'oidc', tokens.id_token),
    returnTo: pending.returnTo,
  };
}

/** Ends the provider's session too, when it offers that; back to the sign-in page afterwards. */
export async function oidcSignOutUrl(cfg: OidcSignIn, session: Session): Promise<string | null> {
  const doc = await discover(cfg.issuer).catch(() => null);
  if (!doc?.end_session_endpoint) return null;
  const url = new URL(doc.end_session_endpoint);
  url.searchParams.set('client_id', cfg.clientId);
  url.searchParams.set('post_logout_redirect_uri', `${location.origin}/signin`);
  if (session.idToken) url.searchParams.set('id_token_hint', session.idToken);
  return url.toString();
}
