import type { ServerResponse } from 'node:http';
import { defineRoute, type RouteSpec } from '@testbed/kit';
import type { LiveHub, LiveSink } from '../live/live-hub';
import { listAgents } from '../store/agent-store';
import type { StatsContext } from '../use-cases/context';
import { agentsAnswer, liveQuery, liveStreamDescription, overviewAnswer, overviewQuery } from './schemas';
import { z } from 'zod';

const tags = ['stats'];
/** A client that lets this much pile up unread is dropped (it reconnects and gets a snapshot). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;

function sseSink(res: ServerResponse): LiveSink {
  return {
    send(type, data) {
      if (res.writableEnded) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.end();
        return;
      }
      res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    close: () => res.end(),
  };
}

export function liveRoutes(ctx: StatsContext, hub: LiveHub): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/stats/live',
      summary: `The newest sample of every container the caller may see, as it comes (\`?node=\` for one node). ${liveStreamDescription}`,
      tags,
      tokenInQuery: true,
      query: liveQuery,
      responses: {
        200: { description: 'an endless event stream', contentType: 'text/event-stream', schema: z.string() },
      },
      handler: async ({ query, principal, req, res }) => {
        res.writeHead(200, {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache, no-transform',
          Connection: 'keep-alive',
          // Proxies (nginx ingress) must pass events on as they come.
          'X-Accel-Buffering': 'no',
        });
        res.write(`retry: 3000\n\n`);
        const unsubscribe = hub.subscribe(principal, query.node, sseSink(res), 'sse');
        const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
        keepAlive.unref();
        const end = () => {
          clearInterval(keepAlive);
          unsubscribe();
        };
        req.on('close', end);
        res.on('close', end);
        return { streamed: true };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/stats/containers',
      summary:
        'The newest sample of every container the caller may see (`?node=` for one node), for an overview table',
      tags,
      query: overviewQuery,
      responses: { 200: { description: 'the newest samples', schema: overviewAnswer } },
      handler: async ({ query, principal }) => ({
        status: 200,
        body: { items: hub.visible(principal, query.node) },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/stats/nodes',
      summary:
        "Each node's agent as its newest heartbeat tells: how it reads, what it buffers and has dropped",
      tags,
      responses: { 200: { description: 'the agents', schema: agentsAnswer } },
      handler: async () => ({ status: 200, body: { items: await listAgents(ctx.sql) } }),
    }),
  ];
}
