import { z } from 'zod';
import { actsForOthers, defineRoute, ForbiddenError, type Principal, type RouteSpec } from '@testbed/kit';
import { nodeParams, operationAnswer } from './schemas';
import { checkUpdatesBody, imageAnswer, pullBody } from './image-schemas';
import { answerOperation } from './answer-operation';
import { getNode } from '../use-cases/nodes';
import { startImageOperation } from '../use-cases/images';
import type { ProvisioningContext } from '../use-cases/context';

const operationResponses = {
  202: { description: 'the operation', schema: operationAnswer },
  201: { description: 'finished (Prefer: wait)', schema: operationAnswer },
  200: { description: 'failed or cancelled (Prefer: wait)', schema: operationAnswer },
};

const idem = (p: Principal, key: string | undefined) => (key ? `${p.subject}:${key}` : undefined);

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
      handler: async ({ params }) => {
        const node = await getNode(ctx, params.node);
        const images = await ctx.dockers.for(node).listImages();
        return {
          status: 200,
          body: {
            items: images.map((i) => ({
              id: i.Id,
              tags: i.RepoTags ?? [],
              digests: i.RepoDigests ?? [],
              size: i.Size,
              created: new Date(i.Created * 1000).toISOString(),
            })),
            nextCursor: null,
          },
        };
      },
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
        const node = await getNode(ctx, params.node);
        const op = await startImageOperation(
          ctx,
          'image.pull',
          principal.subject,
          { node: node.name, image: body.image },
          idem(principal, req.header('idempotency-key')),
        );
        return answerOperation(ctx, op, req.header('prefer'));
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
        const node = await getNode(ctx, params.node);
        const op = await startImageOperation(
          ctx,
          'image.check-updates',
          principal.subject,
          { node: node.name, dryRun: body.dryRun },
          idem(principal, req.header('idempotency-key')),
        );
        return answerOperation(ctx, op, req.header('prefer'));
      },
    }),
  ];
}
