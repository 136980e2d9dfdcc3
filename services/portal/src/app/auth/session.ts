import type { Role } from '../api/types';

/** Who is signed in: the bearer token the API verifies, and what it says about them. */
export interface Session {
  token: string;
  user: string;
  role: Role;
  /** ms since 1970. */
  expiresAt: number;
  method: 'local' | 'oidc';
  /** The OpenID provider's id token, for signing out there too. */
  idToken?: string;
}

const KEY = 'testbed.session';
const ROLES: Role[] = ['user', 'operator', 'service'];

/** The claims the services read (services/kit/src/auth/jwt-authenticator.ts): sub, role or roles[0], exp. */
export function claimsOf(token: string): { sub?: string; role: Role; exp?: number } {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const json = atob(
    part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '='),
  );
  const payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as {
    sub?: unknown;
    role?: unknown;
    roles?: unknown;
    exp?: unknown;
  };
  const claimed = payload.role ?? (Array.isArray(payload.roles) ? payload.roles[0] : undefined) ?? 'user';
  return {
    ...(typeof payload.sub === 'string' ? { sub: payload.sub } : {}),
    role: ROLES.includes(claimed as Role) ? (claimed as Role) : 'user',
    ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}),
  };
}

export function sessionFromToken(token: string, method: Session['method'], idToken?: string): Session {
  const claims = claimsOf(token);
  if (!claims.sub) throw new Error('the token names no user (no sub claim)');
  return {
    token,
    user: claims.sub,
    role: claims.role,
    expiresAt: claims.exp ? claims.exp * 1000 : Date.now() + 3600_000,
    method,
    ...(idToken ? { idToken } : {}),
  };
}

/** Kept for the tab's lifetime only (sessionStorage): a closed tab forgets the token. */
export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return s.expiresAt > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
