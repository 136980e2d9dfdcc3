/**
 * 32 clients booking random, overlapping windows on the same nodes at once, against the rig's
 * Postgres: the accepted set has no overlap, and every refusal is a 409 naming a reservation
 * that really overlaps.
 */
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createQuotaService, defaultQuotaConfig } from '../src';

const CLIENTS = 32;
const ATTEMPTS_EACH = 12;
const NODES = ['node1', 'node2', 'node3'];
let t: TestHost;

beforeAll(async () => {
  t = await startTestHost({
    name: 'quota_book',
    database: 'postgres',
    bus: 'in-process',
    modules: (deps) => [
      createQuotaService({
        ...deps,
        config: {
          ...defaultQuotaConfig,
          QUOTA_KNOWN_NODES: NODES.join(','),
          QUOTA_MAX_CONCURRENT_RESERVATIONS: 1000,
        },
      }),
    ],
  });
  for (let u = 0; u < CLIENTS; u++) {
    expect(
      (await t.call('ops', 'operator', `/v1/users/user${u}/quota`, { method: 'PUT', body: '{}' })).status,
    ).toBe(201);
  }
}, 120_000);
afterAll(() => t?.stop());

interface Booking {
  id: string;
  nodes: string[];
  start: number;
  end: number;
}

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) =>
  a.start < b.end && b.start < a.end;

test('no two accepted reservations of a node overlap; every 409 names a real overlap', async () => {
  const token = await t.token('reservation-system', 'service');
  const base = Date.now() + 24 * 3600_000;
  const hour = 3600_000;
  const accepted: Booking[] = [];
  const refusals: {
    nodes: string[];
    start: number;
    end: number;
    conflict: { id: string; start: string; end: string; nodes: string[] };
    node: string;
  }[] = [];

  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < ATTEMPTS_EACH; i++) {
        const start = base + Math.floor(Math.random() * 200) * hour;
        const end = start + (1 + Math.floor(Math.random() * 6)) * hour;
        const nodes = NODES.filter(() => Math.random() < 0.5);
        if (nodes.length === 0) nodes.push(NODES[c % NODES.length]!);
        const res = await fetch(`${t.url}/v1/reservations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            user: `user${c}`,
            nodes,
            start: new Date(start).toISOString(),
            end: new Date(end).toISOString(),
          }),
        });
        const body = (await res.json()) as Record<string, unknown>;
        if (res.status === 201) accepted.push({ id: body.id as string, nodes, start, end });
        else {
          expect({ status: res.status, body }).toMatchObject({ status: 409 }); // the body says why if not
          refusals.push({
            nodes,
            start,
            end,
            conflict: body.conflictingReservation as never,
            node: body.node as string,
          });
        }
      }
    }),
  );
  expect(accepted.length).toBeGreaterThan(0);
  expect(refusals.length).toBeGreaterThan(0);

  for (const node of NODES) {
    const onNode = accepted.filter((b) => b.nodes.includes(node)).sort((a, b) => a.start - b.start);
    for (let i = 1; i < onNode.length; i++) expect(onNode[i - 1]!.end).toBeLessThanOrEqual(onNode[i]!.start);
  }
  const byId = new Map(accepted.map((b) => [b.id, b]));
  for (const r of refusals) {
    const named = byId.get(r.conflict.id);
    expect(named).toBeDefined(); // the reservation in the way is one that was accepted
    expect(r.nodes).toContain(r.node);
    expect(named!.nodes).toContain(r.node);
    expect(overlaps(named!, r)).toBe(true);
  }
  // And the database holds exactly the accepted set.
  const rows = await t.db.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM quota.reservation`;
  expect(Number(rows[0]!.n)).toBe(accepted.length);
}, 180_000);
