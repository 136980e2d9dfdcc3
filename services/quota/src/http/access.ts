import { actsForOthers, ForbiddenError, type Principal } from '@testbed/kit';
import { seeUser } from '../use-cases/users';
import type { QuotaContext } from '../use-cases/context';

/** Operators and the service role act for anyone; a user only for themselves. */
export function requireActsFor(principal: Principal, user: string, what: string): void {
  if (!actsForOthers(principal) && principal.subject !== user) {
    throw new ForbiddenError(`'${principal.subject}' may not ${what} of '${user}'`);
  }
}

/** A user's token seen for the first time makes the user known (with the default limits). */
export async function seePrincipal(ctx: QuotaContext, principal: Principal): Promise<void> {
  if (principal.role === 'user') await seeUser(ctx, principal.subject, 'token');
}

/** Whether this caller may book, change and cancel reservations of `user`. */
export function requireMayBookFor(ctx: QuotaContext, principal: Principal, user: string): void {
  if (actsForOthers(principal)) return;
  if (!ctx.config.QUOTA_USERS_BOOK_SELF) {
    throw new ForbiddenError('reservations are booked through the reservation system here');
  }
  if (principal.subject !== user) {
    throw new ForbiddenError(`a user books only for themselves, not for '${user}'`);
  }
}
