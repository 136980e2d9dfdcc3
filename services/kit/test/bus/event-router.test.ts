/** One event router: each event validated against its type's contract before its handler runs. */
import { z } from 'zod';
import { eventRouter, isRetriable, onEvent, type CloudEvent, type HandlerContext } from '../../src/bus';

const ctx = {
  tx: {} as never,
  afterCommit: () => undefined,
  headers: {},
  topic: 't',
  attempt: 1,
} as HandlerContext;
const event = (type: string, data: unknown): CloudEvent<unknown> => ({
  specversion: '1.0',
  id: '6f0c7a38-59e5-4a57-9c55-3c4f3b0b1e0a',
  source: 'test',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  data,
});

test('a valid event reaches its route with the parsed data; a type with no route is not this consumer’s', async () => {
  const seen: unknown[] = [];
  const sub = eventRouter({
    consumer: 'c',
    topics: ['t'],
    routes: {
      'thing.made': onEvent(z.object({ n: z.coerce.number() }), async ({ data }) => seen.push(data)),
    },
  });
  await sub.handle(event('thing.made', { n: '3' }), ctx);
  await sub.handle(event('other.thing', { whatever: true }), ctx);
  expect(seen).toEqual([{ n: 3 }]);
});

test('data that breaks its contract is not retried (a dead letter), unless the route answers it', async () => {
  const sub = eventRouter({
    consumer: 'c',
    topics: ['t'],
    routes: { 'thing.made': onEvent(z.object({ n: z.number() }), async () => undefined) },
  });
  const err = await sub.handle(event('thing.made', { n: 'x' }), ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect(isRetriable(err)).toBe(false);
  expect(String(err)).toMatch(/thing\.made .* breaks its contract: n: /);

  const answered: string[] = [];
  const answering = eventRouter({
    consumer: 'c',
    topics: ['t'],
    routes: {
      'thing.asked': onEvent(
        z.object({ n: z.number() }),
        async () => undefined,
        async ({ problems }) => void answered.push(problems),
      ),
    },
  });
  await answering.handle(event('thing.asked', {}), ctx);
  expect(answered[0]).toMatch(/^n: /);
});
