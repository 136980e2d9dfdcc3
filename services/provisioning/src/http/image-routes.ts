import { z } from 'zod';
import { actsForOthers, defineRoute, ForbiddenError, type RouteSpec } from '@testbed/kit';
import { nodeParams } from './schemas';
import { operationResponses } from './answers';
import { checkUpdatesBody, imageAnswer, pullBody } from './image-schemas';
import { answerStarted, idempotencyKeyOf } from './answer-operation';
import { imagesOnNode, startImageOperation } from '../use-cases/image-operations';
import type { ProvisioningContext } from '../context';

/**
 * Images on the nodes: list, pull, and the update check. Any user may pull (they need images for
 * their containers; a pull changes no one's running container). A check that pulls moves tags on a
 * node every user shares, so it is for operators and services; its dry run is open to everyone.
 */
export function imageRoutes(ctx: ProvisioningContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/nodes/:node/images',
      summary: 'Images present on the node',
      tags: ['nodes'],
      params: nodeParams,
      responses: {
        200: {
          description: 'images',
          schema: z.object({ items: z.array(imageAnswer), nextCursor: z.null() }),
        },
      },
      handler: async ({ params }) => ({
        status: 200,
        body: { items: await imagesOnNode(ctx, params.node), nextCursor: null },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/nodes/:node/images/pull',
      summary: 'Pull an image onto the node (an operation)',
      tags: ['nodes'],
      params: nodeParams,
      body: pullBody,
      responses: operationResponses,
      handler: async ({ params, body, principal, req }) => {
        const op = await startImageOperation(
          ctx,
          'image.pull',
          principal,
          { node: params.node, image: body.image },
          idempotencyKeyOf(principal, req.header('idempotency-key')),
        );
        return answerStarted(ctx, op, req.header('prefer'));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/nodes/:node/images/check-updates',
      summary: 'Which images have a newer version in their registry; pulled unless dryRun (an operation)',
      tags: ['nodes'],
      params: nodeParams,
      body: checkUpdatesBody,
      // An operation, not a direct answer: one registry round trip per image and, without dryRun,
      // pulls that may take minutes; `Prefer: wait=N` still answers a quick check at once.
      responses: operationResponses,
      handler: async ({ params, body, principal, req }) => {
        if (!body.dryRun && !actsForOthers(principal))
          throw new ForbiddenError('only operators pull updates on a node; a dry run is open to everyone');
        const op = await startImageOperation(
          ctx,
          'image.check-updates',
          principal,
          { node: params.node, dryRun: body.dryRun },
          idempotencyKeyOf(principal, req.header('idempotency-key')),
        );
        return answerStarted(ctx, op, req.header('prefer'));
      },
    }),
  ];
}
