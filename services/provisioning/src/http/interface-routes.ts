import { z } from 'zod';
import { actsForOthers, defineRoute, ForbiddenError, NotFoundError, type RouteSpec } from '@testbed/kit';
import {
  idParams,
  interfaceAnswer,
  interfaceBody,
  interfaceParams,
  interfacePatch,
  networkAnswer,
  networkBody,
  networkParams,
  operationAnswer,
} from './schemas';
import { answerOperation, operationProblem } from './answer-operation';
import { containerFor } from '../use-cases/containers';
import { startInterfaceOperation, type InterfaceKind } from '../use-cases/interfaces';
import { parsePreferWait, waitForOperation } from '../use-cases/operations';
import { createNetwork, removeNetwork } from '../use-cases/networks';
import { findNetwork, listNetworks, type NetworkRecord } from '../store/network-store';
import type { ProvisioningContext } from '../use-cases/context';

/** An interface change takes a second or two: without `Prefer: wait` the answer still waits this long. */
const DEFAULT_WAIT_SECONDS = 30;

const networkView = (n: NetworkRecord): z.infer<typeof networkAnswer> => ({
  name: n.name,
  pool: n.pool,
  nodes: n.nodes,
  owner: n.owner,
  createdAt: n.createdAt.toISOString(),
});

/** Second interfaces (attach, move, detach) and user-defined networks. */
export function interfaceRoutes(ctx: ProvisioningContext): RouteSpec[] {
  /** The interface (201/200) or nothing (204) once done, its problem when it failed; still running, the operation (202). */
  async function run(
    kind: InterfaceKind,
    id: string,
    principal: Parameters<typeof containerFor>[2],
    body: { pool?: string; network?: string; ip?: string },
    prefer: string | undefined,
    done: 200 | 201 | 204,
  ) {
    const c = await containerFor(ctx, id, principal);
    const op = await startInterfaceOperation(ctx, c, kind, body);
    const finished = await waitForOperation(ctx, op.id, parsePreferWait(prefer) ?? DEFAULT_WAIT_SECONDS);
    if (finished.state === 'failed') throw operationProblem(finished);
    if (finished.state !== 'succeeded') return answerOperation(ctx, finished, undefined);
    const headers = { Location: `/v1/containers/${id}`, 'Operation-Location': `/v1/operations/${op.id}` };
    return done === 204
      ? { status: 204 as const, headers }
      : { status: done, body: finished.result as z.infer<typeof interfaceAnswer>, headers };
  }

  const operationResponses = {
    202: { description: 'still running: the operation', schema: operationAnswer },
  };

  return [
    defineRoute({
      method: 'post',
      path: '/v1/containers/:id/interfaces',
      summary: 'Attach a second interface (eth1) with an address from the secondary pool or a network',
      tags: ['containers'],
      params: idParams,
      body: interfaceBody,
      responses: {
        201: { description: 'the new interface', schema: interfaceAnswer },
        ...operationResponses,
      },
      handler: ({ params, body, principal, req }) =>
        run('interface.attach', params.id, principal, body, req.header('prefer'), 201),
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/containers/:id/interfaces/:ifname',
      summary: 'Move the interface to another free address (e.g. into the experiment range)',
      tags: ['containers'],
      params: interfaceParams,
      body: interfacePatch,
      responses: { 200: { description: 'the interface', schema: interfaceAnswer }, ...operationResponses },
      handler: ({ params, body, principal, req }) =>
        run('interface.move', params.id, principal, body, req.header('prefer'), 200),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/containers/:id/interfaces/:ifname',
      summary: 'Detach the interface and release its addresses',
      tags: ['containers'],
      params: interfaceParams,
      responses: { 204: { description: 'detached' }, ...operationResponses },
      handler: ({ params, principal, req }) =>
        run('interface.detach', params.id, principal, {}, req.header('prefer'), 204),
    }),

    defineRoute({
      method: 'get',
      path: '/v1/networks',
      summary: 'User-defined secondary networks',
      tags: ['networks'],
      responses: {
        200: {
          description: 'networks',
          schema: z.object({ items: z.array(networkAnswer), nextCursor: z.null() }),
        },
      },
      handler: async () => ({
        status: 200,
        body: { items: (await ctx.db.prisma.$transaction(listNetworks)).map(networkView), nextCursor: null },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/networks',
      summary: 'Create a secondary network on the chosen nodes',
      tags: ['networks'],
      body: networkBody,
      responses: { 201: { description: 'the network', schema: networkAnswer } },
      handler: async ({ body, principal }) => {
        const net = await createNetwork(ctx, principal.subject, body);
        return { status: 201, body: networkView(net), headers: { Location: `/v1/networks/${net.name}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/networks/:name',
      summary: 'One network',
      tags: ['networks'],
      params: networkParams,
      responses: { 200: { description: 'the network', schema: networkAnswer } },
      handler: async ({ params }) => {
        const net = await ctx.db.prisma.$transaction((tx) => findNetwork(tx, params.name));
        if (!net) throw new NotFoundError('network', params.name);
        return { status: 200, body: networkView(net) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/networks/:name',
      summary: 'Remove a network; refused while containers are attached',
      tags: ['networks'],
      params: networkParams,
      responses: { 204: { description: 'removed' } },
      handler: async ({ params, principal }) => {
        const net = await ctx.db.prisma.$transaction((tx) => findNetwork(tx, params.name));
        if (!net) throw new NotFoundError('network', params.name);
        if (net.owner !== principal.subject && !actsForOthers(principal))
          throw new ForbiddenError(`network '${params.name}' belongs to another user`);
        await removeNetwork(ctx, params.name);
        return { status: 204 };
      },
    }),
  ];
}
