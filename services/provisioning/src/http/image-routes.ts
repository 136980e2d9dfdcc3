import { defineRoute, type RouteSpec } from '@testbed/kit';
import { nodeParams } from './schemas';
import { getNode } from '../use-cases/nodes';
import type { ProvisioningContext } from '../use-cases/context';

/** Images on the nodes: list, pull, and the update check. */
export function imageRoutes(ctx: ProvisioningContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/nodes/:node/images',
      summary: 'Images present on the node',
      tags: ['nodes'],
      params: nodeParams,
      responses: { 200: { description: 'images' } },
      handler: async ({ params }) => {
        const node = await getNode(ctx, params.node);
        const images = await ctx.dockers.for(node).listImages();
        return {
          status: 200,
          body: {
            items: images.map((i) => ({
              id: i.Id,
              tags: i.RepoTags ?? [],
              size: i.Size,
              created: new Date(i.Created * 1000).toISOString(),
            })),
            nextCursor: null,
          },
        };
      },
    }),
  ];
}
