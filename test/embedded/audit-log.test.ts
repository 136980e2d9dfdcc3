/**
 * The audit log in the embedded default (PGlite, all services in one process, no Docker: the
 * node's daemon is a closed loopback port): operators' changes and users' refused attempts are on
 * record with who, what, when, from where and the result; a container create is on record when it
 * is accepted and again when its operation ends; the log is operators' only, filtered by user,
 * action, result and time, paged by cursor; no token secret is ever in it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@testbed/kit';
import { embeddedConfigSchema } from '../../services/embedded/src/config';
import { startEmbedded } from '../../services/embedded/src/start-embedded';
import { waitFor } from '../support/wait';
import type { AuditEntryView } from '../../services/provisioning/src/http/audit-entry-view';

jest.setTimeout(90_000);

type Entry = AuditEntryView;
type Page = { items: Entry[]; nextCursor: string | null };

let url = '';
let stop: () => Promise<void> = async () => undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-audit-'));

async function tokenOf(user: string, role: string): Promise<string> {
  const res = await fetch(`${url}/v1/auth/local-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, role }),
  });
  return ((await res.json()) as { accessToken: string }).accessToken;
}

const tokens: Record<string, string> = {};
const as = (who: string) => async (method: string, pathname: string, body?: unknown) => {
  const res = await fetch(`${url}${pathname}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      'content-type': 'application/json',
      'user-agent': `audit-${who}`,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, text };
};

beforeAll(async () => {
  const config = embeddedConfigSchema.parse({
    PORT: '0',
    DATA_DIR: dir,
    DATABASE_URL: 'pglite://memory',
    PROVISIONING_LOCAL_NODE: 'false',
    STATS_LOCAL_AGENT: 'false',
    LOG_LEVEL: 'silent',
  });
  const platform = await startEmbedded(config, { logger: createLogger({ name: 'audit', level: 'silent' }) });
  url = platform.host.url;
  stop = () => platform.host.stop();
  for (const [who, role] of [
    ['ops', 'operator'],
    ['alice', 'user'],
    ['bob', 'user'],
  ] as const)
    tokens[who] = await tokenOf(who, role);
});
afterAll(async () => {
  await stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const audit = async (query: string) => {
  const res = await as('ops')('GET', `/v1/audit?${query}`);
  expect(res.status).toBe(200);
  return res.body as Page;
};

test('changes and refusals on record, with who, from where and the result', async () => {
  const ops = as('ops');
  const alice = as('alice');
  const bob = as('bob');
  const t0 = new Date().toISOString();

  // A node whose daemon is a closed loopback port: registration needs no daemon, creates fail.
  expect(
    (await ops('POST', '/v1/nodes', { name: 'n1', dockerHost: 'tcp://127.0.0.1:9', insecure: true })).status,
  ).toBe(201);
  const issued = await ops('POST', '/v1/tokens', {
    name: 'reservations',
    subject: 'booker',
    role: 'service',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
  expect(issued.status).toBe(201);
  const { id: tokenId, token } = issued.body as { id: string; token: string };
  expect((await ops('DELETE', `/v1/tokens/${tokenId}`)).status).toBe(204);
  expect((await ops('PUT', '/v1/users/alice/quota', { maxContainers: 3 })).status).toBeLessThan(300);

  // Alice's own reservation; bob in its way, bob on alice's, alice on operators' endpoints.
  const day = 'from=2031-01-01T00:00:00Z&to=2031-01-02T00:00:00Z';
  await waitFor(
    'quota to know node n1',
    async () => (await alice('GET', `/v1/nodes/n1/availability?${day}`)).status === 200,
    20_000,
  );
  const window = { start: '2031-01-01T10:00:00Z', end: '2031-01-01T12:00:00Z' };
  const booked = await alice('POST', '/v1/reservations', { user: 'alice', nodes: ['n1'], ...window });
  expect(booked.status).toBe(201);
  const reservation = (booked.body as { id: string }).id;
  expect((await bob('POST', '/v1/reservations', { user: 'bob', nodes: ['n1'], ...window })).status).toBe(409);
  expect([403, 404]).toContain((await bob('DELETE', `/v1/reservations/${reservation}`)).status);
  expect((await alice('PUT', '/v1/users/alice/quota', { maxContainers: 99 })).status).toBe(403);
  expect((await alice('GET', '/v1/audit')).status).toBe(403);

  // Alice's container is accepted, then its operation fails (the daemon does not answer).
  const created = await alice('POST', '/v1/containers', {
    name: 'exp1',
    node: 'n1',
    image: 'testbed/busybox',
    sshPublicKeys: [],
  });
  expect(created.status).toBe(202);
  const operation = (created.body as { id: string }).id;
  const ended = await waitFor(
    'the create to end',
    async () => {
      const page = await audit(`operation=${operation}`);
      return page.items.length >= 2 ? page.items : undefined;
    },
    60_000,
    200,
  );
  expect(ended.map((e) => [e.action, e.result, e.actor])).toEqual([
    ['container.create', 'failed', 'alice'],
    ['container.create', 'accepted', 'alice'],
  ]);
  expect(ended[0]!.reason).toBeTruthy();
  expect(ended[1]).toMatchObject({ inTransaction: true, userAgent: 'audit-alice' });

  const all = (await audit(`from=${encodeURIComponent(t0)}&limit=500`)).items.reverse();
  const summary = all.map((e) => `${e.actor} ${e.action} ${e.result}${e.status ? ` ${e.status}` : ''}`);
  expect(summary).toEqual(
    expect.arrayContaining([
      'ops node.register succeeded',
      'ops token.create succeeded',
      'ops token.revoke succeeded',
      'ops user.quota.update succeeded',
      'alice reservation.create succeeded',
      'bob reservation.create refused 409',
      'alice user.quota.update refused 403',
      'alice container.create accepted',
    ]),
  );
  expect(summary.some((s) => /^bob reservation\.cancel refused 40[34]$/.test(s))).toBe(true);
  // Reads are not on record; the changes are, in their own transaction; refusals by the router.
  expect(all.every((e) => !e.action.startsWith('audit'))).toBe(true);
  for (const e of all) {
    expect(e.inTransaction).toBe(e.result !== 'refused');
    // The end of an operation is the platform's work, on record for the one who asked.
    if (e.details.state === undefined) expect(e.sourceIp).toMatch(/127\.0\.0\.1|::1/);
  }
  const tokenEntry = all.find((e) => e.action === 'token.create')!;
  expect(tokenEntry).toMatchObject({ targetId: tokenId, details: { subject: 'booker', role: 'service' } });
  // The token's secret is answered once, and never kept in the log.
  const secret = token.split('_').pop()!;
  expect(JSON.stringify(all)).not.toContain(secret);

  // Filters and pages.
  const refusedBob = await audit('user=bob&result=refused');
  expect(refusedBob.items.length).toBe(2);
  expect(refusedBob.items.every((e) => e.actor === 'bob' && e.result === 'refused')).toBe(true);
  expect((await audit('action=token.revoke')).items.map((e) => e.targetId)).toEqual([tokenId]);
  expect((await audit(`to=${encodeURIComponent(t0)}`)).items.filter((e) => e.actor !== 'system')).toEqual([]);
  const first = await audit('limit=3');
  expect(first.items).toHaveLength(3);
  const second = await audit(`limit=3&cursor=${first.nextCursor}`);
  expect(second.items[0]!.seq).toBeLessThan(first.items[2]!.seq);
  // Bad filters are problems naming the field.
  const bad = await ops('GET', '/v1/audit?from=yesterday');
  expect(bad.status).toBe(422);
  expect(bad.text).toContain('from');
});
