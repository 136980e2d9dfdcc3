import { z } from 'zod';
import { decodeCursor, defineRoute, pageOf, tokenIntrospection, type RouteSpec } from '@testbed/kit';
import {
  createApiToken,
  getApiToken,
  introspectApiToken,
  listApiTokens,
  revokeApiToken,
  tokenState,
} from '../use-cases/api-tokens';
import type { ApiTokenRecord } from '../store/token-store';
import type { QuotaContext } from '../use-cases/context';
import {
  createdTokenAnswer,
  introspectBody,
  tokenAnswer,
  tokenBody,
  tokenParams,
  tokensQuery,
} from './token-schemas';

const tags = ['API tokens'];
const operators = ['operator'] as const;
const noStore = { 'Cache-Control': 'no-store' };

/** A token as the API shows it: never its secret nor its hash. */
function tokenView(ctx: QuotaContext, t: ApiTokenRecord): z.infer<typeof tokenAnswer> {
  return {
    id: t.id,
    name: t.name,
    subject: t.subject,
    role: t.role,
    nodes: t.nodes.length > 0 ? t.nodes : null,
    state: tokenState(t, ctx.clock.now()),
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
  };
}

const cursorKey = z.object({ createdAt: z.iso.datetime().transform((s) => new Date(s)), id: z.uuid() });

export function tokenRoutes(ctx: QuotaContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/tokens',
      summary:
        'Issue an API token of a subject and role, perhaps scoped to nodes; the token is answered once',
      tags,
      roles: operators,
      body: tokenBody,
      responses: { 201: { description: 'the token, with its secret', schema: createdTokenAnswer } },
      handler: async ({ body, principal }) => {
        const { record, token } = await createApiToken(ctx, principal, body);
        return { status: 201, body: { ...tokenView(ctx, record), token }, headers: noStore };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/tokens',
      summary: 'API tokens, newest first (revoked and expired ones too)',
      tags,
      roles: operators,
      query: tokensQuery,
      responses: {
        200: {
          description: 'a page of tokens',
          schema: z.object({ items: z.array(tokenAnswer), nextCursor: z.string().nullable() }),
        },
      },
      handler: async ({ query }) => {
        const after = decodeCursor(query.cursor, cursorKey);
        const rows = await listApiTokens(ctx, after, query.limit + 1);
        return {
          status: 200,
          body: pageOf(
            rows,
            query.limit,
            (t) => ({ createdAt: t.createdAt.toISOString(), id: t.id }),
            (t) => tokenView(ctx, t),
          ),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/tokens/introspect',
      summary:
        'Whether a token is active, and its claims (RFC 7662); the token in the body is the credential',
      tags,
      roles: 'public',
      body: introspectBody,
      responses: { 200: { description: 'the answer', schema: tokenIntrospection } },
      handler: async ({ body }) => ({
        status: 200,
        body: await introspectApiToken(ctx, body.token),
        headers: noStore,
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/tokens/:id',
      summary: 'One API token',
      tags,
      roles: operators,
      params: tokenParams,
      responses: { 200: { description: 'the token', schema: tokenAnswer } },
      handler: async ({ params }) => ({
        status: 200,
        body: tokenView(ctx, await getApiToken(ctx, params.id)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/tokens/:id',
      summary:
        'Revoke an API token (again is fine); every replica refuses it within AUTH_TOKEN_CACHE_SECONDS',
      auditAction: 'token.revoke',
      tags,
      roles: operators,
      params: tokenParams,
      responses: { 204: { description: 'revoked' } },
      handler: async ({ params }) => {
        await revokeApiToken(ctx, params.id);
        return { status: 204 };
      },
    }),
  ];
}
