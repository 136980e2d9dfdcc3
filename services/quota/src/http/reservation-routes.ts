import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  actsForOthers,
  decodeCursor,
  defineRoute,
  ForbiddenError,
  pageOf,
  type RouteSpec,
} from '@testbed/kit';
import { reservationState } from '../domain/windows';
import type { ReservationRecord } from '../store/reservation-store';
import { findReservationsPage, nodeAvailability } from '../use-cases/calendar';
import {
  bookReservation,
  cancelReservation,
  changeReservationEnd,
  getReservation,
} from '../use-cases/reservations';
import type { QuotaContext } from '../use-cases/context';
import { requireActsFor, requireMayBookFor, seePrincipal } from './access';
import {
  availabilityAnswer,
  availabilityQuery,
  nodeParams,
  reservationAnswer,
  reservationBody,
  reservationParams,
  reservationPatch,
  reservationsQuery,
} from './schemas';

const tags = ['reservations'];

export function reservationView(r: ReservationRecord, now: Date): z.infer<typeof reservationAnswer> {
  return {
    id: r.id,
    user: r.user,
    nodes: r.nodes,
    start: r.start.toISOString(),
    end: r.end.toISOString(),
    state: reservationState(r, now),
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
  };
}

/** `Idempotency-Key` + caller + body: the same triple answers the same reservation. */
function requestKeyOf(subject: string, key: string | undefined, body: unknown): string | undefined {
  if (!key) return undefined;
  const digest = createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 22);
  return `${subject}:${key}:${digest}`;
}

export function reservationRoutes(ctx: QuotaContext): RouteSpec[] {
  const view = (r: ReservationRecord) => reservationView(r, ctx.clock.now());
  /** The reservation, when the caller may see it. */
  const visible = async (id: string, principal: Parameters<typeof requireActsFor>[0]) => {
    const r = await getReservation(ctx, id);
    requireActsFor(principal, r.user, 'see the reservations');
    return r;
  };
  return [
    defineRoute({
      method: 'post',
      path: '/v1/reservations',
      summary: 'Book nodes for a user over a time window; 409 with the reservation in the way',
      tags,
      body: reservationBody,
      responses: {
        201: { description: 'the reservation', schema: reservationAnswer },
        200: {
          description: 'the same Idempotency-Key and body were served before',
          schema: reservationAnswer,
        },
      },
      handler: async ({ body, principal, req }) => {
        requireMayBookFor(ctx, principal, body.user);
        await seePrincipal(ctx, principal);
        const requestKey = requestKeyOf(principal.subject, req.header('idempotency-key'), req.body);
        const { reservation, created } = await bookReservation(ctx, {
          ...body,
          createdBy: principal.subject,
          requestKey,
        });
        return {
          status: created ? 201 : 200,
          body: view(reservation),
          headers: { Location: `/v1/reservations/${reservation.id}` },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/reservations',
      summary: 'Reservations (not cancelled) by start; a user sees their own',
      tags,
      query: reservationsQuery,
      responses: {
        200: {
          description: 'a page of reservations',
          schema: z.object({ items: z.array(reservationAnswer), nextCursor: z.string().nullable() }),
        },
      },
      handler: async ({ query, principal }) => {
        if (!actsForOthers(principal) && query.user && query.user !== principal.subject) {
          throw new ForbiddenError(`'${principal.subject}' may not see the reservations of '${query.user}'`);
        }
        const user = actsForOthers(principal) ? query.user : principal.subject;
        const after = decodeCursor(query.cursor, z.tuple([z.iso.datetime(), z.string()]));
        const rows = await findReservationsPage(
          ctx,
          { user, node: query.node, from: query.from, to: query.to },
          after,
          query.limit + 1,
        );
        return { status: 200, body: pageOf(rows, query.limit, (r) => [r.start.toISOString(), r.id], view) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/reservations/:id',
      summary: 'One reservation, cancelled ones included',
      tags,
      params: reservationParams,
      responses: { 200: { description: 'the reservation', schema: reservationAnswer } },
      handler: async ({ params, principal }) => ({
        status: 200,
        body: view(await visible(params.id, principal)),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/reservations/:id',
      summary: 'Extend or shorten a reservation (a new end); 409 when a neighbour is in the way',
      tags,
      params: reservationParams,
      body: reservationPatch,
      responses: { 200: { description: 'the reservation', schema: reservationAnswer } },
      handler: async ({ params, body, principal }) => {
        const current = await visible(params.id, principal);
        requireMayBookFor(ctx, principal, current.user);
        return { status: 200, body: view(await changeReservationEnd(ctx, params.id, body.end)) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/reservations/:id',
      summary: 'Cancel a reservation; one under way ends now (provisioning stops its containers)',
      auditAction: 'reservation.cancel',
      tags,
      params: reservationParams,
      responses: { 204: { description: 'cancelled' } },
      handler: async ({ params, principal }) => {
        const current = await visible(params.id, principal);
        requireMayBookFor(ctx, principal, current.user);
        await cancelReservation(ctx, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/nodes/:node/availability',
      summary: 'Free and booked windows of a node between from and to',
      tags,
      params: nodeParams,
      query: availabilityQuery,
      responses: { 200: { description: 'the windows', schema: availabilityAnswer } },
      handler: async ({ params, query }) => {
        const a = await nodeAvailability(ctx, params.node, query);
        const iso = (w: { start: Date; end: Date }) => ({
          start: w.start.toISOString(),
          end: w.end.toISOString(),
        });
        return {
          status: 200,
          body: {
            node: a.node,
            from: a.from.toISOString(),
            to: a.to.toISOString(),
            free: a.free.map(iso),
            booked: a.booked.map((b) => ({ ...iso(b), reservationId: b.reservationId })),
          },
        };
      },
    }),
  ];
}
