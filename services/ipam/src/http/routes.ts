import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  decodeCursor,
  defineRoute,
  ForbiddenError,
  InvalidError,
  pageOf,
  actsForOthers,
  type RouteSpec,
} from '@testbed/kit';
import {
  allocateBody,
  allocationAnswer,
  allocationParams,
  allocationsQuery,
  bindBody,
  poolAnswer,
  poolDefinitionBody,
  poolParams,
  poolsQuery,
  suggestAnswer,
  suggestQuery,
} from './schemas';
import { allocate } from '../use-cases/allocate';
import { bindAddress, releaseAddress } from '../use-cases/release';
import { createPool, getPool, listPoolViews } from '../use-cases/pools';
import { suggestAddresses } from '../use-cases/suggest';
import { listAllocations, type Allocation } from '../store/allocation-store';
import { parseIpv4 } from '@testbed/kit';
import type { IpamContext } from '../use-cases/context';

const tags = ['address pools'];

export function allocationView(a: Allocation): z.infer<typeof allocationAnswer> {
  return {
    ip: a.ip,
    pool: a.pool,
    state: a.state,
    owner: a.owner,
    heldUntil: a.heldUntil?.toISOString() ?? null,
    containerId: a.containerId,
    createdAt: a.createdAt.toISOString(),
  };
}

/** `Idempotency-Key` + the body: the same pair answers the same allocation, creating nothing twice. */
function requestIdOf(subject: string, key: string | undefined, body: unknown): string | undefined {
  if (!key) return undefined;
  const digest = createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 22);
  return `http:${subject}:${key}:${digest}`;
}

export function ipamRoutes(ctx: IpamContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/pools',
      summary: 'List address pools with their use',
      tags,
      query: poolsQuery,
      responses: {
        200: {
          description: 'a page of pools',
          schema: z.object({ items: z.array(poolAnswer), nextCursor: z.string().nullable() }),
        },
      },
      handler: async ({ query }) => {
        const after = decodeCursor(query.cursor, z.string());
        const rows = await listPoolViews(ctx, after, query.limit + 1);
        return { status: 200, body: pageOf(rows, query.limit, (p) => p.name) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/pools',
      summary: 'Define an address pool',
      tags,
      roles: ['operator'],
      body: poolDefinitionBody,
      responses: { 201: { description: 'the pool', schema: poolAnswer } },
      handler: async ({ body }) => {
        const pool = await createPool(ctx, body);
        return { status: 201, body: pool, headers: { Location: `/v1/pools/${pool.name}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/pools/:pool',
      summary: 'One pool with its size, used and free counts',
      tags,
      params: poolParams,
      responses: { 200: { description: 'the pool', schema: poolAnswer } },
      handler: async ({ params }) => ({ status: 200, body: await getPool(ctx, params.pool) }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/pools/:pool/next-free',
      summary: 'The next free address (or block of count from start) an allocation would get now, not held',
      tags,
      params: poolParams,
      query: suggestQuery,
      responses: {
        200: { description: 'the suggested addresses', schema: suggestAnswer },
        409: { description: 'no such free address or block, with the first address in the way' },
      },
      handler: async ({ params, query }) => {
        try {
          const items = await suggestAddresses(ctx, { pool: params.pool, ...query });
          return { status: 200, body: { pool: params.pool, items } };
        } catch (err) {
          // The planner names the fields of an allocation's body; here they are the query's.
          if (err instanceof InvalidError)
            throw new InvalidError(
              err.errors.map((e) => ({ ...e, path: e.path.replace(/^body\./, 'query.') })),
            );
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/pools/:pool/allocations',
      summary: 'Live allocations of a pool, in address order',
      tags,
      params: poolParams,
      query: allocationsQuery,
      responses: {
        200: {
          description: 'a page of allocations',
          schema: z.object({ items: z.array(allocationAnswer), nextCursor: z.string().nullable() }),
        },
      },
      handler: async ({ params, query, principal }) => {
        await getPool(ctx, params.pool);
        const owner = actsForOthers(principal) ? query.owner : principal.subject;
        const after = decodeCursor(query.cursor, z.number().int());
        const rows = await ctx.db.prisma.$transaction((tx) =>
          listAllocations(
            tx,
            { pool: params.pool, state: query.state, owner, afterIp: after },
            query.limit + 1,
          ),
        );
        return { status: 200, body: pageOf(rows, query.limit, (a) => parseIpv4(a.ip), allocationView) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/pools/:pool/allocations',
      summary: 'Hold the next free address, a given address, or a contiguous ascending block',
      tags,
      params: poolParams,
      body: allocateBody,
      responses: {
        201: { description: 'the held addresses', schema: z.object({ items: z.array(allocationAnswer) }) },
        200: {
          description: 'the same Idempotency-Key and body were served before',
          schema: z.object({ items: z.array(allocationAnswer) }),
        },
      },
      handler: async ({ params, body, principal, req }) => {
        if (!actsForOthers(principal) && body.owner !== principal.subject) {
          throw new ForbiddenError(`a user allocates only for themselves, not for '${body.owner}'`);
        }
        const requestId = requestIdOf(principal.subject, req.header('idempotency-key'), {
          pool: params.pool,
          ...body,
        });
        const result = await allocate(ctx, { pool: params.pool, ...body, requestId });
        return { status: result.created ? 201 : 200, body: { items: result.items.map(allocationView) } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/pools/:pool/allocations/:ip',
      summary: 'Bind a held address to a container (what provisioning’s container.started does)',
      tags,
      roles: ['operator', 'service'],
      params: allocationParams,
      body: bindBody,
      responses: { 200: { description: 'the allocation', schema: allocationAnswer } },
      handler: async ({ params, body }) => ({
        status: 200,
        body: allocationView(await bindAddress(ctx, params.pool, params.ip, body.containerId)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/pools/:pool/allocations/:ip',
      summary: 'Release an address',
      tags,
      params: allocationParams,
      responses: { 204: { description: 'released' } },
      handler: async ({ params, principal }) => {
        if (!actsForOthers(principal)) {
          const [mine] = await ctx.db.prisma.$transaction((tx) =>
            listAllocations(
              tx,
              { pool: params.pool, owner: principal.subject, afterIp: (parseIpv4(params.ip) ?? 0) - 1 },
              1,
            ),
          );
          if (mine?.ip !== params.ip)
            throw new ForbiddenError(`${params.ip} is not held by '${principal.subject}'`);
        }
        await releaseAddress(ctx, params.pool, params.ip);
        return { status: 204 };
      },
    }),
  ];
}
