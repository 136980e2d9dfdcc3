import { defineRoute, type RouteSpec } from '@testbed/kit';
import { batchBody, idParams } from './schemas';
import { batchAnswer, operationAnswer, operationResponses } from './answers';
import { answerStarted, answerStartedRemoval, idempotencyKeyOf } from './answer-operation';
import { batchView } from './views';
import { createBatch, getBatch, startBatchRemoval } from '../use-cases/batches';
import type { ProvisioningContext } from '../context';

const tags = ['batches'];

/** Batches: N containers over one or more nodes (an operation), read one, remove all of it (an operation). */
export function batchRoutes(ctx: ProvisioningContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/batches',
      summary: 'Create and run N containers over one or more nodes',
      tags,
      body: batchBody,
      responses: operationResponses,
      handler: async ({ body, principal, req }) => {
        const key = idempotencyKeyOf(principal, req.header('idempotency-key'));
        return answerStarted(ctx, await createBatch(ctx, principal, body, key), req.header('prefer'));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/batches/:id',
      summary: 'A batch and its items',
      tags,
      params: idParams,
      responses: { 200: { description: 'the batch with its create operation', schema: batchAnswer } },
      handler: async ({ params, principal }) => {
        const { batch, operation } = await getBatch(ctx, params.id, principal);
        return { status: 200, body: batchView(batch, operation) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/batches/:id',
      summary: 'Remove every container of a batch (an operation; its result counts what was removed)',
      tags,
      params: idParams,
      responses: {
        202: { description: 'still running: the operation (Location names it)', schema: operationAnswer },
        200: {
          description: 'ended within Prefer: wait; its result counts what was removed',
          schema: operationAnswer,
        },
      },
      handler: async ({ params, principal, req }) =>
        answerStartedRemoval(ctx, await startBatchRemoval(ctx, params.id, principal), req.header('prefer')),
    }),
  ];
}
