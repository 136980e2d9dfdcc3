import type { z } from 'zod';
import { defineRoute, type Principal, type RouteSpec } from '@testbed/kit';
import { idParams, interfaceBody, interfaceParams, interfacePatch } from './schemas';
import { interfaceAnswer, operationAnswer } from './answers';
import { answerStarted, operationProblem } from './answer-operation';
import type { InterfaceKind } from '../domain/operation-work';
import { changeInterface } from '../use-cases/interfaces';
import { parsePreferWait } from '../use-cases/operations';
import type { ProvisioningContext } from '../context';

/** An interface change takes a second or two: without `Prefer: wait` the answer still waits this long. */
const DEFAULT_WAIT_SECONDS = 30;

const stillRunning = { 202: { description: 'still running: the operation', schema: operationAnswer } };

/**
 * Second interfaces: attach, move, detach eth1 of a running container (a stopped one answers 409
 * `container-not-running`: its interfaces change only while it runs).
 */
export function interfaceRoutes(ctx: ProvisioningContext): RouteSpec[] {
  /** The interface (201/200) or nothing (204) once done, its problem when it failed; still running, the operation (202). */
  async function run(
    kind: InterfaceKind,
    id: string,
    principal: Principal,
    body: { pool?: string; network?: string; ip?: string },
    prefer: string | undefined,
    done: 200 | 201 | 204,
  ) {
    const finished = await changeInterface(
      ctx,
      kind,
      id,
      principal,
      body,
      parsePreferWait(prefer) ?? DEFAULT_WAIT_SECONDS,
    );
    if (finished.state === 'failed') throw operationProblem(finished);
    if (finished.state !== 'succeeded') return answerStarted(ctx, finished, undefined);
    const headers = {
      Location: `/v1/containers/${id}`,
      'Operation-Location': `/v1/operations/${finished.id}`,
    };
    return done === 204
      ? { status: 204 as const, headers }
      : { status: done, body: finished.result as z.infer<typeof interfaceAnswer>, headers };
  }

  return [
    defineRoute({
      method: 'post',
      path: '/v1/containers/:id/interfaces',
      summary: 'Attach a second interface (eth1) with an address from the secondary pool or a network',
      tags: ['containers'],
      params: idParams,
      body: interfaceBody,
      responses: { 201: { description: 'the new interface', schema: interfaceAnswer }, ...stillRunning },
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
      responses: { 200: { description: 'the interface', schema: interfaceAnswer }, ...stillRunning },
      handler: ({ params, body, principal, req }) =>
        run('interface.move', params.id, principal, body, req.header('prefer'), 200),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/containers/:id/interfaces/:ifname',
      summary: 'Detach the interface and release its addresses',
      tags: ['containers'],
      params: interfaceParams,
      responses: { 204: { description: 'detached' }, ...stillRunning },
      handler: ({ params, principal, req }) =>
        run('interface.detach', params.id, principal, {}, req.header('prefer'), 204),
    }),
  ];
}
