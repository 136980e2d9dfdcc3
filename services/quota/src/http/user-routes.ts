import { z } from 'zod';
import { decodeCursor, defineRoute, pageOf, type RouteSpec } from '@testbed/kit';
import { listUsers } from '../store/user-store';
import { getQuota, getUsage, requireUser, setQuota } from '../use-cases/users';
import { transaction, type QuotaContext } from '../use-cases/context';
import { requireActsFor, seePrincipal } from './access';
import { quotaAnswer, quotaBody, usageAnswer, userAnswer, userParams, usersQuery } from './schemas';

const tags = ['users and quotas'];
const userView = (u: { name: string; createdVia: string; createdAt: Date }) => ({
  name: u.name,
  createdVia: u.createdVia,
  createdAt: u.createdAt.toISOString(),
});

export function userRoutes(ctx: QuotaContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/users',
      summary: 'Users quota knows, by name',
      tags,
      roles: ['operator', 'service'],
      query: usersQuery,
      responses: {
        200: {
          description: 'a page of users',
          schema: z.object({ items: z.array(userAnswer), nextCursor: z.string().nullable() }),
        },
      },
      handler: async ({ query }) => {
        const after = decodeCursor(query.cursor, z.string());
        const rows = await transaction(ctx, (tx) => listUsers(tx, after, query.limit + 1));
        return { status: 200, body: pageOf(rows, query.limit, (u) => u.name, userView) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:user',
      summary: 'One user (404 when quota has never seen them)',
      tags,
      params: userParams,
      responses: { 200: { description: 'the user', schema: userAnswer } },
      handler: async ({ params, principal }) => {
        requireActsFor(principal, params.user, 'see the account');
        await seePrincipal(ctx, principal);
        return {
          status: 200,
          body: userView(await transaction(ctx, (tx) => requireUser(tx, params.user))),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:user/quota',
      summary: "A user's limits: the configured defaults unless set for them",
      tags,
      params: userParams,
      responses: { 200: { description: 'the limits', schema: quotaAnswer } },
      handler: async ({ params, principal }) => {
        requireActsFor(principal, params.user, 'see the quota');
        await seePrincipal(ctx, principal);
        return { status: 200, body: await getQuota(ctx, params.user) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/users/:user/quota',
      summary: "Set a user's limits (absent or null: the default); creates the user when unknown",
      tags,
      roles: ['operator'],
      params: userParams,
      body: quotaBody,
      responses: {
        200: { description: 'the limits', schema: quotaAnswer },
        201: { description: 'the user was created with these limits', schema: quotaAnswer },
      },
      handler: async ({ params, body }) => {
        const { quota, created } = await setQuota(ctx, params.user, body);
        return { status: created ? 201 : 200, body: quota };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:user/usage',
      summary: 'Current use against each limit: running, held by admissions, still available',
      tags,
      params: userParams,
      responses: { 200: { description: 'the usage', schema: usageAnswer } },
      handler: async ({ params, principal }) => {
        requireActsFor(principal, params.user, 'see the usage');
        await seePrincipal(ctx, principal);
        return { status: 200, body: await getUsage(ctx, params.user) };
      },
    }),
  ];
}
