/**
 * Concurrent allocations combined (allocate.ts, allocation-combiner.ts): the requests for one
 * next address served by one lock-free statement, blocks and given addresses under the segment's
 * lock, on two replicas of ipam sharing the rig's Postgres. No address is out twice, and each
 * allocation has exactly one `ipam.allocated` event and one audit entry, as a locked one has.
 */
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createIpamService, defaultIpamConfig } from '../src';
import { allocatedEvent } from '../src/events/contracts';

let a: TestHost;
let b: TestHost;
const config = { ...defaultIpamConfig, IPAM_SEED_POOLS: false };

beforeAll(async () => {
  a = await startTestHost({
    name: 'ipam_combined',
    database: 'postgres',
    bus: 'in-process',
    modules: (deps) => [createIpamService({ ...deps, config })],
  });
  b = await startTestHost({
    name: 'ipam_combined_b',
    database: { url: a.databaseUrl },
    bus: 'in-process',
    modules: (deps) => [createIpamService({ ...deps, config })],
  });
  const res = await a.call('ops', 'operator', '/v1/pools', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'comb',
      cidr: '10.201.0.0/24',
      rangeStart: '10.201.0.10',
      rangeEnd: '10.201.0.250',
      gateway: '10.201.0.1',
      exclude: ['10.201.0.11'],
      segment: 'comb',
    }),
  });
  expect(res.status).toBe(201);
}, 120_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const allocate = async (host: TestHost, user: string, body: Record<string, unknown>) => {
  const res = await host.call(user, 'user', '/v1/pools/comb/allocations', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': `combined-test ${user}` },
    body: JSON.stringify({ owner: user, ...body }),
  });
  const json = (await res.json()) as { items?: { ip: string; heldUntil: string | null; owner: string }[] };
  return { status: res.status, items: json.items ?? [] };
};

test('two replicas, singles and blocks at once: every address once, each with one event and one audit entry', async () => {
  // A first allocation on each replica teaches it the pool (the lock-free statement needs it).
  const warm = await Promise.all([allocate(a, 'warm-a', {}), allocate(b, 'warm-b', {})]);
  expect(warm.map((w) => w.status)).toEqual([201, 201]);

  const singles = Array.from({ length: 160 }, (_, i) => allocate(i % 2 ? a : b, `user-${i % 8}`, {}));
  const blocks = Array.from({ length: 12 }, (_, i) =>
    allocate(i % 2 ? b : a, `blocker-${i}`, { start: `10.201.0.${100 + i * 4}`, count: 3 }),
  );
  const given = Array.from({ length: 8 }, (_, i) =>
    allocate(i % 2 ? a : b, `given-${i}`, { ip: `10.201.0.${200 + i}` }),
  );
  const answers = await Promise.all([...singles, ...blocks, ...given]);

  // A single always gets an address (the pool has room); a block or a given address may find
  // singles got there first: a 409, never an error.
  expect(answers.slice(0, 160).filter((r) => !(r.status === 201 && r.items.length === 1))).toEqual([]);
  for (const r of answers.slice(160)) expect([201, 409]).toContain(r.status);
  const ips = [...warm, ...answers].flatMap((r) => (r.status === 201 ? r.items.map((i) => i.ip) : []));
  expect(new Set(ips).size).toBe(ips.length);
  // Reserved addresses are never handed out.
  expect(ips).not.toContain('10.201.0.11');
  expect(ips).not.toContain('10.201.0.1');

  const rows = await a.db.prisma.$queryRaw<{ ip: string; owner: string }[]>`
    SELECT ip, owner FROM ipam.allocation WHERE segment = 'comb'`;
  expect(rows.map((r) => r.ip).sort()).toEqual([...ips].sort());

  // One event per allocation, carrying what the answer said.
  const events = await a.db.prisma.$queryRaw<{ event: { type: string; subject: string; data: unknown } }[]>`
    SELECT event FROM bus.outbox WHERE key = 'comb' ORDER BY seq`;
  const byIp = new Map<string, number>();
  for (const { event } of events) {
    expect(event.type).toBe('ipam.allocated');
    expect(event.subject).toBe('comb');
    const data = allocatedEvent.parse(event.data);
    for (const item of data.items) byIp.set(item.ip, (byIp.get(item.ip) ?? 0) + 1);
  }
  expect([...byIp.keys()].sort()).toEqual([...ips].sort());
  expect([...byIp.values()].every((n) => n === 1)).toBe(true);
  const single = answers[0]!.items[0]!;
  const itsEvent = events
    .map((e) => allocatedEvent.parse(e.event.data))
    .find((d) => d.items.some((i) => i.ip === single.ip))!;
  expect(itsEvent).toEqual({
    requestId: null,
    pool: 'comb',
    owner: single.owner,
    items: [{ ip: single.ip, state: 'held', heldUntil: single.heldUntil }],
  });

  // One audit entry per allocation, written with it (not a second one by the router).
  const entries = await a.db.prisma.$queryRaw<
    {
      actor: string;
      target_id: string;
      in_transaction: boolean;
      user_agent: string;
      details: { ips: string[] };
    }[]
  >`SELECT actor, target_id, in_transaction, user_agent, details FROM audit.entry
    WHERE source = 'ipam' AND result = 'succeeded'`;
  const audited = entries.flatMap((e) => e.details.ips ?? []);
  expect(audited.sort()).toEqual([...ips].sort());
  const entry = entries.find((e) => e.target_id === single.ip)!;
  expect(entry).toMatchObject({
    actor: single.owner,
    in_transaction: true,
    user_agent: `combined-test ${single.owner}`,
  });
}, 120_000);
