import type { RouteSpec } from '@testbed/kit';
import type { QuotaContext } from '../use-cases/context';
import { reservationRoutes } from './reservation-routes';
import { tokenRoutes } from './token-routes';
import { userRoutes } from './user-routes';

export function quotaRoutes(ctx: QuotaContext): RouteSpec[] {
  return [...userRoutes(ctx), ...reservationRoutes(ctx), ...tokenRoutes(ctx)];
}
