import { defineRoute, type RouteSpec } from '@testbed/kit';
import type { StatsContext } from '../use-cases/context';
import { containerHistory, nodeTotals } from '../use-cases/history';
import { containerParams, historyAnswer, historyQuery, nodeParams, totalsAnswer } from './schemas';

const tags = ['stats'];

export function historyRoutes(ctx: StatsContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/containers/:id/stats',
      summary:
        "A container's history over [from, to) (default the last hour) in buckets of `step` seconds: raw samples, or minute or hour roll-ups, whichever tier the step and the retention choose",
      tags,
      params: containerParams,
      query: historyQuery,
      responses: { 200: { description: 'the series', schema: historyAnswer } },
      handler: async ({ params, query, principal }) => ({
        status: 200,
        body: await containerHistory(ctx, principal, params.id, query),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/nodes/:node/stats',
      summary:
        "A node's totals over time (the sum over its containers; a user's own containers only): CPU, memory, network rates and how many containers",
      tags,
      params: nodeParams,
      query: historyQuery,
      responses: { 200: { description: 'the totals', schema: totalsAnswer } },
      handler: async ({ params, query, principal }) => ({
        status: 200,
        body: await nodeTotals(ctx, principal, params.node, query),
      }),
    }),
  ];
}
