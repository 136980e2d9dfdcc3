import { z } from 'zod';
import { defineRoute, type RouteSpec } from '@testbed/kit';
import { nodeBody, nodeParams, nodePatch } from './schemas';
import { nodeAnswer, nodeContainerAnswer } from './answers';
import { nodeView } from './views';
import {
  changeNode,
  containersOnNode,
  nodesWithUse,
  nodeWithUse,
  registerNode,
  removeNode,
} from '../use-cases/nodes';
import type { ProvisioningContext } from '../context';

const tags = ['nodes'];

/** Testbed nodes: register, list with health, capacity and use, change, remove; a node's containers. */
export function nodeRoutes(ctx: ProvisioningContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/nodes',
      summary: 'Testbed nodes with their health',
      tags,
      responses: {
        200: { description: 'nodes', schema: z.object({ items: z.array(nodeAnswer), nextCursor: z.null() }) },
      },
      handler: async () => ({
        status: 200,
        body: { items: (await nodesWithUse(ctx)).map((n) => nodeView(n.node, n.use)), nextCursor: null },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/nodes',
      summary: 'Register a node',
      auditAction: 'node.register',
      tags,
      roles: ['operator'],
      body: nodeBody,
      responses: { 201: { description: 'the node', schema: nodeAnswer } },
      handler: async ({ body }) => {
        const node = await registerNode(ctx, { ...body, macvlanParent: body.macvlanParent ?? null });
        return { status: 201, body: nodeView(node), headers: { Location: `/v1/nodes/${node.name}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/nodes/:node',
      summary: 'One node',
      tags,
      params: nodeParams,
      responses: { 200: { description: 'the node', schema: nodeAnswer } },
      handler: async ({ params }) => {
        const { node, use } = await nodeWithUse(ctx, params.node);
        return { status: 200, body: nodeView(node, use) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/nodes/:node',
      summary: 'Change a node’s schedulable flag or labels',
      tags,
      roles: ['operator'],
      params: nodeParams,
      body: nodePatch,
      responses: { 200: { description: 'the node', schema: nodeAnswer } },
      handler: async ({ params, body }) => ({
        status: 200,
        body: nodeView(await changeNode(ctx, params.node, body)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/nodes/:node',
      summary: 'Remove a node without containers',
      tags,
      roles: ['operator'],
      params: nodeParams,
      responses: { 204: { description: 'removed' } },
      handler: async ({ params }) => {
        await removeNode(ctx, params.node);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/nodes/:node/containers',
      summary: 'Every container on the node, running and stopped, with owner',
      tags,
      params: nodeParams,
      responses: {
        200: {
          description: 'containers on the daemon',
          schema: z.object({ items: z.array(nodeContainerAnswer), nextCursor: z.null() }),
        },
      },
      handler: async ({ params, principal }) => ({
        status: 200,
        body: { items: await containersOnNode(ctx, params.node, principal), nextCursor: null },
      }),
    }),
  ];
}
