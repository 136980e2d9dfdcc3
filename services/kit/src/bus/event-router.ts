import type { z } from 'zod';
import type { CloudEvent } from './cloud-event';
import { nonRetriable } from './errors';
import type { HandlerContext, Subscription } from './types';

/** What a route's handler gets: the event's data as its contract parsed it, and the delivery. */
export interface RoutedEvent<T> extends HandlerContext {
  data: T;
  event: CloudEvent<unknown>;
}

export interface EventRoute<S extends z.ZodType = z.ZodType> {
  /** The event's contract, owned by the service that emits it. */
  schema: S;
  handle(input: RoutedEvent<z.output<S>>): Promise<unknown>;
  /**
   * An event whose data breaks its contract. Without this it is dead-lettered at once (no retry
   * can mend data); a command whose sender waits for an answer answers it here instead.
   */
  malformed?(input: RoutedEvent<unknown> & { problems: string }): Promise<unknown>;
}

/** One route, typed by its schema. */
export function onEvent<S extends z.ZodType>(
  schema: S,
  handle: (input: RoutedEvent<z.output<S>>) => Promise<unknown>,
  malformed?: EventRoute<S>['malformed'],
): EventRoute<S> {
  return { schema, handle, ...(malformed ? { malformed } : {}) };
}

/** The contract's problems in one line: `path: message; …`. */
export function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ');
}

/**
 * A consumer's subscription from a table of event types: each event is validated against its
 * type's contract before its handler runs; types with no route are not this consumer's business.
 */
export function eventRouter(opts: {
  consumer: string;
  topics: string[];
  routes: Record<string, EventRoute>;
}): Subscription {
  return {
    consumer: opts.consumer,
    topics: opts.topics,
    async handle(event, ctx) {
      const route = opts.routes[event.type];
      if (!route) return;
      const parsed = route.schema.safeParse(event.data ?? {});
      if (parsed.success) {
        await route.handle({ ...ctx, event, data: parsed.data });
        return;
      }
      const problems = issuesText(parsed.error);
      if (route.malformed) {
        await route.malformed({ ...ctx, event, data: event.data, problems });
        return;
      }
      throw nonRetriable(new Error(`${event.type} ${event.id} breaks its contract: ${problems}`));
    },
  };
}
