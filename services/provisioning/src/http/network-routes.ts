import { z } from 'zod';
import { defineRoute, type RouteSpec } from '@testbed/kit';
import { networkBody, networkParams } from './schemas';
import { networkAnswer } from './answers';
import { networkView } from './views';
import { allNetworks, createNetwork, getNetwork, removeNetwork } from '../use-cases/networks';
import type { ProvisioningContext } from '../context';

const tags = ['networks'];

/** User-defined secondary networks: created on the chosen nodes' daemons, removed when nothing is attached. */
export function networkRoutes(ctx: ProvisioningContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/networks',
      summary: 'User-defined secondary networks: a user sees their own, operators and services every one',
      tags,
      responses: {
        200: {
          description: 'networks',
          schema: z.object({ items: z.array(networkAnswer), nextCursor: z.null() }),
        },
      },
      handler: async ({ principal }) => ({
        status: 200,
        body: { items: (await allNetworks(ctx, principal)).map(networkView), nextCursor: null },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/networks',
      summary: 'Create a secondary network on the chosen nodes',
      tags,
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
      tags,
      params: networkParams,
      responses: { 200: { description: 'the network', schema: networkAnswer } },
      handler: async ({ params, principal }) => ({
        status: 200,
        body: networkView(await getNetwork(ctx, params.name, principal)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/networks/:name',
      summary: 'Remove a network; refused while containers are attached',
      tags,
      params: networkParams,
      responses: { 204: { description: 'removed' } },
      handler: async ({ params, principal }) => {
        await removeNetwork(ctx, params.name, principal);
        return { status: 204 };
      },
    }),
  ];
}
