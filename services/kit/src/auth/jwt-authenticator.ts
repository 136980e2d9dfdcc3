import {
  createRemoteJWKSet,
  jwtVerify,
  type JWTVerifyGetKey,
  type CryptoKey,
  errors as joseErrors,
} from 'jose';
import { UnauthorizedError } from '../http/errors';
import { ROLES, type Authenticator, type Principal, type Role } from './principal';

interface VerifyOptions {
  issuer: string;
  audience: string;
}

function principalOf(payload: Record<string, unknown>): Principal {
  const subject = payload.sub;
  if (typeof subject !== 'string' || subject.length === 0)
    throw new UnauthorizedError('token has no subject');
  const claimed = payload.role ?? (Array.isArray(payload.roles) ? payload.roles[0] : undefined) ?? 'user';
  if (!ROLES.includes(claimed as Role))
    throw new UnauthorizedError(`token role '${String(claimed)}' is unknown`);
  return { subject, role: claimed as Role };
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token claim '${err.claim}' is not valid`;
  if (err instanceof joseErrors.JOSEError) return 'token signature or format is not valid';
  return 'token could not be verified';
}

/** Tokens verified lately, so a client's every request does not cost a signature check. */
const CACHE_ENTRIES = 1000;
/** A cached verification is trusted this long at most (and never past the token's `exp`). */
const CACHE_MS = 60_000;

function authenticatorOf(key: CryptoKey | JWTVerifyGetKey, opts: VerifyOptions): Authenticator {
  // An ECDSA verification is about 0.15 ms of CPU (more than the rest of a small request's
  // handling); a client sends the same token with every request until it expires.
  const verified = new Map<string, { principal: Principal; until: number }>();
  return {
    async verify(token) {
      const now = Date.now();
      const hit = verified.get(token);
      if (hit && hit.until > now) return hit.principal;
      if (hit) verified.delete(token);
      try {
        const { payload } = await jwtVerify(token, key as JWTVerifyGetKey, {
          issuer: opts.issuer,
          audience: opts.audience,
        });
        const principal = principalOf(payload);
        const until = Math.min(
          now + CACHE_MS,
          typeof payload.exp === 'number' ? payload.exp * 1000 : now + CACHE_MS,
        );
        if (verified.size >= CACHE_ENTRIES) verified.delete(verified.keys().next().value!);
        verified.set(token, { principal, until });
        return principal;
      } catch (err) {
        if (err instanceof UnauthorizedError) throw err;
        throw new UnauthorizedError(describe(err));
      }
    },
  };
}

/** Production: tokens of the identity provider, keys fetched (and cached) from its JWKS. */
export function createJwksAuthenticator(opts: VerifyOptions & { jwksUrl: string }): Authenticator {
  return authenticatorOf(createRemoteJWKSet(new URL(opts.jwksUrl)), opts);
}

export function createKeyAuthenticator(publicKey: CryptoKey, opts: VerifyOptions): Authenticator {
  return authenticatorOf(publicKey, opts);
}
