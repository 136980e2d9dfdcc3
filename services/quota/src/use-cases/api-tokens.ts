import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  apiTokenIdOf,
  InvalidError,
  newApiToken,
  NotFoundError,
  type Principal,
  type Role,
  type TokenIntrospection,
  recordAudit,
} from '@testbed/kit';
import { findToken, insertToken, listTokens, revokeToken, type ApiTokenRecord } from '../store/token-store';
import { transaction, type QuotaContext } from './context';

/** The longest life an API token may be given. */
export const MAX_TOKEN_LIFETIME_MS = 366 * 86_400_000;

export interface ApiTokenInput {
  name: string;
  subject: string;
  role: Role;
  nodes?: string[];
  expiresAt: Date;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** An operator issues a token: the record, and the token itself (answered this once, never stored). */
export async function createApiToken(
  ctx: QuotaContext,
  by: Principal,
  input: ApiTokenInput,
): Promise<{ record: ApiTokenRecord; token: string }> {
  const now = ctx.clock.now();
  if (input.expiresAt.getTime() <= now.getTime())
    throw InvalidError.field('body.expiresAt', 'must be in the future');
  if (input.expiresAt.getTime() - now.getTime() > MAX_TOKEN_LIFETIME_MS)
    throw InvalidError.field('body.expiresAt', 'must be at most 366 days ahead');
  const id = randomUUID();
  const token = newApiToken(id);
  const record = await transaction(ctx, async (tx) => {
    const row = await insertToken(tx, {
      id,
      name: input.name,
      subject: input.subject,
      role: input.role,
      nodes: input.nodes ?? [],
      secretHash: hashOf(token),
      createdBy: by.subject,
      createdAt: now,
      expiresAt: input.expiresAt,
    });
    // Who got which powers, never the secret.
    await recordAudit(tx, {
      targetId: id,
      details: { subject: row.subject, role: row.role, nodes: row.nodes, expiresAt: row.expiresAt },
    });
    return row;
  });
  return { record, token };
}

export function listApiTokens(
  ctx: QuotaContext,
  after: { createdAt: Date; id: string } | undefined,
  limit: number,
): Promise<ApiTokenRecord[]> {
  return transaction(ctx, (tx) => listTokens(tx, after, limit));
}

export async function getApiToken(ctx: QuotaContext, id: string): Promise<ApiTokenRecord> {
  const record = await transaction(ctx, (tx) => findToken(tx, id));
  if (!record) throw new NotFoundError('token', id);
  return record;
}

/** Revokes the token (again is fine: the first revocation's time stays). */
export async function revokeApiToken(ctx: QuotaContext, id: string): Promise<ApiTokenRecord> {
  const record = await transaction(ctx, async (tx) => {
    const row = await revokeToken(tx, id, ctx.clock.now());
    if (row) await recordAudit(tx, { targetId: id, details: { subject: row.subject } });
    return row;
  });
  if (!record) throw new NotFoundError('token', id);
  return record;
}

/**
 * What a presented token is worth. Whether it was revoked or expired is said only when the
 * whole token matches (its hash, compared in constant time): knowing an id alone learns nothing.
 */
export async function introspectApiToken(ctx: QuotaContext, token: string): Promise<TokenIntrospection> {
  const id = apiTokenIdOf(token);
  if (!id) return { active: false, reason: 'malformed' };
  const record = await transaction(ctx, (tx) => findToken(tx, id));
  const presented = Buffer.from(hashOf(token), 'hex');
  const kept = Buffer.from(record?.secretHash ?? '', 'hex');
  if (!record || kept.length !== presented.length || !timingSafeEqual(kept, presented))
    return { active: false, reason: 'unknown' };
  if (record.revokedAt) return { active: false, reason: 'revoked' };
  if (record.expiresAt.getTime() <= ctx.clock.now().getTime()) return { active: false, reason: 'expired' };
  return {
    active: true,
    tokenId: record.id,
    subject: record.subject,
    role: record.role,
    ...(record.nodes.length > 0 ? { nodes: record.nodes } : {}),
    exp: Math.floor(record.expiresAt.getTime() / 1000),
  };
}

/** A token's state as the API shows it. */
export function tokenState(record: ApiTokenRecord, now: Date): 'active' | 'expired' | 'revoked' {
  if (record.revokedAt) return 'revoked';
  return record.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
}
