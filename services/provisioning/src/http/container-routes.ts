import { z } from 'zod';
import { decodeCursor, defineRoute, InvalidError, pageOf, type RouteSpec } from '@testbed/kit';
import {
  containerBody,
  containersQuery,
  deleteQuery,
  filesQuery,
  idParams,
  limitsPatch,
  logsQuery,
} from './schemas';
import {
  containerAnswer,
  logsAnswer,
  operationAnswer,
  operationResponses,
  pageAnswer,
  tarAnswer,
} from './answers';
import { answerStarted, idempotencyKeyOf, operationProblem } from './answer-operation';
import { containerView } from './views';
import {
  actOnContainer,
  containerFor,
  containerLogs,
  containersPage,
  downloadFiles,
  removeContainerFor,
  uploadFiles,
} from '../use-cases/containers';
import { createContainer } from '../use-cases/create-container';
import { changeLimits } from '../use-cases/limits';
import { parsePreferWait } from '../use-cases/operations';
import type { ProvisioningContext } from '../context';

const tags = ['containers'];

/** A limits change takes a second: without `Prefer: wait` the answer still waits this long. */
const LIMITS_WAIT_SECONDS = 30;

/** Containers: create (an operation), list, read, start/stop/restart, live limits, remove, logs, files. */
export function containerRoutes(ctx: ProvisioningContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/containers',
      summary: 'Create and run a container (an operation)',
      tags,
      body: containerBody,
      responses: operationResponses,
      handler: async ({ body, principal, req }) => {
        const key = idempotencyKeyOf(principal, req.header('idempotency-key'));
        return answerStarted(ctx, await createContainer(ctx, principal, body, key), req.header('prefer'));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers',
      summary: 'Containers',
      tags,
      query: containersQuery,
      responses: { 200: { description: 'a page of containers', schema: pageAnswer(containerAnswer) } },
      handler: async ({ query, principal }) => {
        const rows = await containersPage(
          ctx,
          principal,
          {
            node: query.node,
            owner: query.owner,
            state: query.state,
            name: query.name,
            afterId: decodeCursor(query.cursor, z.string()),
          },
          query.limit + 1,
        );
        return { status: 200, body: pageOf(rows, query.limit, (c) => c.id, containerView) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers/:id',
      summary: 'One container',
      tags,
      params: idParams,
      responses: { 200: { description: 'the container', schema: containerAnswer } },
      handler: async ({ params, principal }) => ({
        status: 200,
        body: containerView(await containerFor(ctx, params.id, principal)),
      }),
    }),
    ...(['start', 'stop', 'restart'] as const).map((action) =>
      defineRoute({
        method: 'post',
        path: `/v1/containers/:id/${action}`,
        summary: `${action} a container`,
        tags,
        params: idParams,
        responses: { 200: { description: 'the container', schema: containerAnswer } },
        handler: async ({ params, principal }) => ({
          status: 200,
          body: containerView(await actOnContainer(ctx, params.id, principal, action)),
        }),
      }),
    ),
    defineRoute({
      method: 'patch',
      path: '/v1/containers/:id',
      summary: 'Change CPU and memory limits live, within the user’s quota',
      tags,
      params: idParams,
      body: limitsPatch,
      responses: {
        200: { description: 'the container', schema: containerAnswer },
        202: { description: 'still running: the operation', schema: operationAnswer },
      },
      handler: async ({ params, body, principal, req }) => {
        const wait = parsePreferWait(req.header('prefer')) ?? LIMITS_WAIT_SECONDS;
        const { operation, container } = await changeLimits(ctx, params.id, principal, body, wait);
        if (container) return { status: 200, body: containerView(container) };
        if (operation.state === 'failed') throw operationProblem(operation);
        return answerStarted(ctx, operation, undefined);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/containers/:id',
      summary: 'Remove a container and release its addresses',
      tags,
      params: idParams,
      query: deleteQuery,
      responses: { 204: { description: 'removed' } },
      handler: async ({ params, query, principal }) => {
        await removeContainerFor(ctx, params.id, principal, query.force === 'true');
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers/:id/logs',
      summary: 'Container logs',
      tags,
      params: idParams,
      query: logsQuery,
      responses: { 200: { description: 'log text', contentType: 'text/plain', schema: logsAnswer } },
      handler: async ({ params, query, principal, res }) => {
        const logs = await containerLogs(ctx, params.id, principal, query);
        res.status(200).type('text/plain').send(logs);
        return { streamed: true };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers/:id/files',
      summary: 'Download a file or folder as tar; 404 naming the path when the container has none there',
      tags,
      params: idParams,
      query: filesQuery,
      responses: { 200: { description: 'tar', contentType: 'application/x-tar', schema: tarAnswer } },
      handler: async ({ params, query, principal, res }) => {
        const stream = await downloadFiles(ctx, params.id, principal, query.path);
        res.status(200).type('application/x-tar');
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          res.on('finish', () => resolve());
          stream.pipe(res);
        });
        return { streamed: true };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/containers/:id/files',
      summary: 'Upload a tar into a folder',
      tags,
      params: idParams,
      query: filesQuery,
      rawBody: { contentType: 'application/x-tar' },
      responses: { 204: { description: 'unpacked' } },
      handler: async ({ params, query, principal, req }) => {
        const body = req.body as unknown;
        if (!Buffer.isBuffer(body) || body.length === 0)
          throw InvalidError.field('body', 'a tar archive is required');
        await uploadFiles(ctx, params.id, principal, query.path, body);
        return { status: 204 };
      },
    }),
  ];
}
