/**
 * The API-token authenticator: what it remembers of the owner's answers and for how long (the
 * bound on how long a revoked token still works on a replica), and how it tells tokens apart.
 */
import { randomUUID } from 'node:crypto';
import {
  createApiTokenAuthenticator,
  createCompositeAuthenticator,
  ManualClock,
  newApiToken,
  UnauthorizedError,
  type Authenticator,
  type TokenIntrospection,
} from '../../src';

const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
const inAnHour = () => Math.floor(clock.now().getTime() / 1000) + 3600;

/** A token owner answering from a table the test edits, counting the questions. */
function owner() {
  const answers = new Map<string, TokenIntrospection>();
  const asked: string[] = [];
  return {
    answers,
    asked,
    introspect: async (token: string) => {
      asked.push(token);
      return answers.get(token) ?? { active: false, reason: 'unknown' as const };
    },
  };
}

const refusal = (a: Authenticator, token: string) =>
  a.verify(token).then(
    () => 'accepted',
    (err: unknown) => (err instanceof UnauthorizedError ? err.message : `other: ${String(err)}`),
  );

test('an active token is the principal the owner names, asked once per cache period', async () => {
  const o = owner();
  const token = newApiToken(randomUUID());
  o.answers.set(token, {
    active: true,
    subject: 'ci',
    role: 'service',
    tokenId: 't1',
    nodes: ['n1'],
    exp: inAnHour(),
  });
  const a = createApiTokenAuthenticator({ introspect: o.introspect, cacheSeconds: 5, clock });

  expect(await a.verify(token)).toEqual({ subject: 'ci', role: 'service', tokenId: 't1', nodes: ['n1'] });
  await Promise.all([a.verify(token), a.verify(token)]);
  expect(o.asked).toHaveLength(1);

  // Revoked at the owner: still accepted from memory until the cache period ends, then refused.
  o.answers.set(token, { active: false, reason: 'revoked' });
  clock.advance(4999);
  expect(await refusal(a, token)).toBe('accepted');
  clock.advance(1);
  expect(await refusal(a, token)).toBe('token revoked');
  expect(o.asked).toHaveLength(2);
});

test('refusals are remembered too, and an answer never outlives the token', async () => {
  const o = owner();
  const unknown = newApiToken(randomUUID());
  const a = createApiTokenAuthenticator({ introspect: o.introspect, cacheSeconds: 5, clock });
  expect(await refusal(a, unknown)).toBe('token unknown');
  expect(await refusal(a, unknown)).toBe('token unknown');
  expect(o.asked).toHaveLength(1);

  const shortLived = newApiToken(randomUUID());
  const exp = Math.floor(clock.now().getTime() / 1000) + 2;
  o.answers.set(shortLived, { active: true, subject: 'ci', role: 'user', exp });
  expect(await refusal(a, shortLived)).toBe('accepted');
  clock.advance(2000);
  o.answers.set(shortLived, { active: false, reason: 'expired' });
  expect(await refusal(a, shortLived)).toBe('token expired');
});

test('a token not of the tbk_<uuid>_<secret> shape is refused without asking', async () => {
  const o = owner();
  const a = createApiTokenAuthenticator({ introspect: o.introspect, cacheSeconds: 5, clock });
  expect(await refusal(a, 'tbk_nope')).toBe('token malformed');
  expect(await refusal(a, `${newApiToken(randomUUID())}x`)).toBe('token malformed');
  expect(o.asked).toHaveLength(0);
});

test('the cache holds at most maxEntries answers', async () => {
  const o = owner();
  const a = createApiTokenAuthenticator({ introspect: o.introspect, cacheSeconds: 60, maxEntries: 3, clock });
  const tokens = Array.from({ length: 5 }, () => newApiToken(randomUUID()));
  for (const t of tokens) await refusal(a, t);
  expect(o.asked).toHaveLength(5);
  // The newest three are remembered, the oldest two were let go.
  for (const t of tokens.slice(2)) await refusal(a, t);
  expect(o.asked).toHaveLength(5);
  await refusal(a, tokens[0]!);
  expect(o.asked).toHaveLength(6);
});

test('a failed introspection is not remembered', async () => {
  let calls = 0;
  const a = createApiTokenAuthenticator({
    introspect: async () => {
      calls++;
      if (calls === 1) throw new Error('owner down');
      return { active: true, subject: 'ci', role: 'user', exp: inAnHour() };
    },
    cacheSeconds: 5,
    clock,
  });
  const token = newApiToken(randomUUID());
  await expect(a.verify(token)).rejects.toThrow('owner down');
  expect(await a.verify(token)).toMatchObject({ subject: 'ci' });
});

test('the composite sends tbk_ tokens to the API-token authenticator, and refuses them without one', async () => {
  const jwt: Authenticator = { verify: async () => ({ subject: 'from-jwt', role: 'user' }) };
  const apiTokens: Authenticator = { verify: async () => ({ subject: 'from-api-token', role: 'service' }) };
  const token = newApiToken(randomUUID());
  expect(await createCompositeAuthenticator(jwt, apiTokens).verify(token)).toMatchObject({
    subject: 'from-api-token',
  });
  expect(await createCompositeAuthenticator(jwt, apiTokens).verify('eyJhbGciOi.x.y')).toMatchObject({
    subject: 'from-jwt',
  });
  expect(await refusal(createCompositeAuthenticator(jwt, undefined), token)).toBe(
    'API tokens are not enabled here',
  );
});
