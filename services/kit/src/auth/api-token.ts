import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ROLES } from './principal';

/**
 * Operator-issued API tokens: `tbk_<id>_<secret>`, the id a UUID (the row), the secret 32 random
 * bytes in base64url. The prefix tells them from identity-provider JWTs before anything is parsed.
 */
export const API_TOKEN_PREFIX = 'tbk_';

const TOKEN_SHAPE =
  /^tbk_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function isApiToken(token: string): boolean {
  return token.startsWith(API_TOKEN_PREFIX);
}

/** A new token of the row `id`. */
export function newApiToken(id: string): string {
  return `${API_TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
}

/** The row id of a well-formed token; undefined for anything else. */
export function apiTokenIdOf(token: string): string | undefined {
  return TOKEN_SHAPE.exec(token)?.[1];
}

/** Why a token is not active, as the introspection answer says it. */
export const INACTIVE_REASONS = ['unknown', 'revoked', 'expired', 'malformed'] as const;
export type InactiveReason = (typeof INACTIVE_REASONS)[number];

/**
 * The introspection answer (RFC 7662's shape, plus `reason`): the claims of an active token, or
 * why it is not. Only whoever holds the token learns either, so the reason discloses nothing.
 */
export const tokenIntrospection = z.object({
  active: z.boolean(),
  reason: z.enum(INACTIVE_REASONS).optional().describe('why an inactive token is not active'),
  tokenId: z.string().optional(),
  subject: z.string().optional(),
  role: z.enum(ROLES).optional(),
  nodes: z.array(z.string()).optional().describe('the nodes a scoped token may create containers on'),
  exp: z.number().int().optional().describe('when the token expires, in seconds since the epoch'),
});
export type TokenIntrospection = z.infer<typeof tokenIntrospection>;

/** Asks the token owner (the quota service) about one token. */
export type TokenIntrospector = (token: string) => Promise<TokenIntrospection>;
