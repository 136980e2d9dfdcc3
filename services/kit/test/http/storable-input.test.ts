/**
 * Strings Postgres cannot store (NUL, a lone UTF-16 surrogate) are refused at the edge, in a value
 * or a key, in body, query or path, whatever the route's schema: a 422 naming the field.
 */
import { z } from 'zod';
import { InvalidError } from '../../src/http';
import { parseRequest } from '../../src/http/validation';
import { unstorableReason, unstorableStrings } from '../../src/http/storable';

test('NUL and lone surrogates are found; whole surrogate pairs (an emoji) and other controls are fine', () => {
  expect(unstorableReason('a\u0000b')).toMatch(/NUL/);
  expect(unstorableReason('x\ud800')).toMatch(/surrogate/);
  expect(unstorableReason('\udc00x')).toMatch(/surrogate/);
  expect(unstorableReason('\ud83d\ude00 \t\n\u0001')).toBeUndefined();
});

test('each problem names its path; a bad key names the object it is in', () => {
  expect(
    unstorableStrings({ env: { GOOD: 'a\u0000', 'B\u0000AD': 'x' }, command: ['ok', '\ud800'] }, 'body'),
  ).toEqual([
    { path: 'body.env.GOOD', message: expect.stringMatching(/NUL/) },
    { path: 'body.env', message: expect.stringMatching(/^a key \("B\\u0000AD"\) contains a NUL/) },
    { path: 'body.command.1', message: expect.stringMatching(/surrogate/) },
  ]);
  expect(unstorableStrings(Buffer.from([0, 0]), 'body')).toEqual([]);
});

test('parseRequest refuses them before the schema, even one that takes any string', () => {
  const run = () =>
    parseRequest(
      { body: z.object({ env: z.record(z.string(), z.string()) }), query: z.object({ owner: z.string() }) },
      { params: {}, query: { owner: 'x\u0000' }, body: { env: { A: '\ud800' } } },
    );
  expect(run).toThrow(InvalidError);
  try {
    run();
  } catch (err) {
    expect((err as InvalidError).errors.map((e) => e.path)).toEqual(['query.owner', 'body.env.A']);
    expect((err as InvalidError).status).toBe(422);
  }
});
