import { z } from 'zod';
import { decodeCursor, defineRoute, pageOf, type RouteSpec } from '@testbed/kit';
import { idParams, operationsQuery } from './schemas';
import { operationAnswer, pageAnswer } from './answers';
import { cancelOperation, getOperation, operationsPage, parsePreferWait } from '../use-cases/operations';
import type { ProvisioningContext } from '../context';

const tags = ['operations'];

/** Operations: read one (waiting with `Prefer: wait=N`), list, cancel. */
export function operationRoutes(ctx: ProvisioningContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/operations/:id',
      summary: 'One operation',
      tags,
      params: idParams,
      responses: { 200: { description: 'the operation', schema: operationAnswer } },
      handler: async ({ params, principal, req }) => ({
        status: 200,
        body: await getOperation(ctx, params.id, principal, parsePreferWait(req.header('prefer'))),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/operations',
      summary: 'Operations',
      tags,
      query: operationsQuery,
      responses: { 200: { description: 'a page of operations', schema: pageAnswer(operationAnswer) } },
      handler: async ({ query, principal }) => {
        const after = decodeCursor(query.cursor, z.string());
        const { ops, views } = await operationsPage(
          ctx,
          principal,
          { owner: query.owner, state: query.state, afterId: after },
          query.limit + 1,
        );
        const page = pageOf(ops, query.limit, (o) => o.id);
        return {
          status: 200,
          body: { items: views.slice(0, page.items.length), nextCursor: page.nextCursor },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/operations/:id',
      summary: 'Cancel an operation; what it did is rolled back',
      auditAction: 'operation.cancel',
      tags,
      params: idParams,
      responses: { 202: { description: 'the operation', schema: operationAnswer } },
      handler: async ({ params, principal }) => ({
        status: 202,
        body: await cancelOperation(ctx, params.id, principal),
      }),
    }),
  ];
}
