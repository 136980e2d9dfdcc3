/**
 * 64 concurrent clients, 5,000 random allocate / block-allocate / release operations through the
 * HTTP API against the rig's Postgres. No address may ever be out twice at once: checked by the
 * database's unique key and by replaying the log of answers.
 */
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createIpamService, defaultIpamConfig } from '../src';

const CLIENTS = 64;
const OPERATIONS = 5000;

let t: TestHost;
let token: string;

beforeAll(async () => {
  t = await startTestHost({
    name: 'ipam_load',
    database: 'postgres',
    bus: 'in-process',
    modules: (deps) => [
      createIpamService({ ...deps, config: { ...defaultIpamConfig, IPAM_SEED_POOLS: false } }),
    ],
  });
  token = await t.token('loadtest', 'operator');
  // Two pools on one segment, overlapping: they share one address space.
  for (const [name, start, end] of [
    ['load', '10.200.0.10', '10.200.0.250'],
    ['load-inner', '10.200.0.100', '10.200.0.200'],
  ] as const) {
    const res = await api('POST', '/v1/pools', {
      name,
      cidr: '10.200.0.0/24',
      rangeStart: start,
      rangeEnd: end,
      gateway: '10.200.0.1',
      segment: 'load',
    });
    expect(res.status).toBe(201);
  }
}, 120_000);
afterAll(() => t?.stop());

async function api(method: string, pathname: string, body?: unknown) {
  const res = await fetch(t.url + pathname, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** One line of the answer log: `seq` totally orders what the test saw (JS runs one thing at a time). */
type LogLine =
  | { seq: number; kind: 'allocated'; client: number; ips: string[] }
  | { seq: number; kind: 'release-sent'; client: number; ip: string };

test('no address is ever held twice at once, and every release frees it', async () => {
  let seq = 0;
  let remaining = OPERATIONS;
  const log: LogLine[] = [];
  const statuses = new Map<string, number>();
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  const rnd = (n: number) => Math.floor(Math.random() * n);

  async function client(id: number): Promise<string[]> {
    const held: { pool: string; ip: string }[] = [];
    while (remaining-- > 0) {
      const roll = rnd(100);
      if (roll < 35 && held.length > 0) {
        const [h] = held.splice(rnd(held.length), 1);
        log.push({ seq: seq++, kind: 'release-sent', client: id, ip: h!.ip });
        const res = await api('DELETE', `/v1/pools/${h!.pool}/allocations/${h!.ip}`);
        count(`release ${res.status}`);
        expect(res.status).toBe(204);
        continue;
      }
      const pool = rnd(4) === 0 ? 'load-inner' : 'load';
      const body =
        roll < 70
          ? { owner: `client-${id}` }
          : roll < 90
            ? { owner: `client-${id}`, start: `10.200.0.${100 + rnd(90)}`, count: 1 + rnd(5) }
            : { owner: `client-${id}`, ip: `10.200.0.${100 + rnd(100)}` };
      const res = await api('POST', `/v1/pools/${pool}/allocations`, body);
      count(`allocate ${res.status}`);
      if (res.status === 201) {
        const ips = (res.body.items as { ip: string }[]).map((i) => i.ip);
        log.push({ seq: seq++, kind: 'allocated', client: id, ips });
        held.push(...ips.map((ip) => ({ pool, ip })));
      } else {
        // The only refusals a valid request may get: the address or block is taken, or the pool is full.
        expect(res.status).toBe(409);
      }
    }
    return held.map((h) => h.ip);
  }

  // Throughput is measured by `npm run bench:ipam`; this test checks what the answers say.
  const heldAtEnd = (await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)))).flat();

  // Replay: an address is out from the answer that gave it until its holder sent the release.
  const out = new Map<string, number>();
  for (const line of log.sort((a, b) => a.seq - b.seq)) {
    if (line.kind === 'release-sent') {
      expect(out.get(line.ip)).toBe(line.client);
      out.delete(line.ip);
      continue;
    }
    for (const ip of line.ips) {
      if (out.has(ip))
        throw new Error(`${ip} handed to client ${line.client} while client ${out.get(ip)} held it`);
      out.set(ip, line.client);
    }
  }
  expect(new Set(heldAtEnd).size).toBe(heldAtEnd.length);
  expect([...out.keys()].sort()).toEqual([...heldAtEnd].sort());
  expect(statuses.get('allocate 201') ?? 0).toBeGreaterThan(OPERATIONS / 4);

  // The database's own guarantee: the unique key on (segment, address), and no duplicates under it.
  const [constraint] = await t.db.prisma.$queryRaw<{ indexdef: string }[]>`
    SELECT indexdef FROM pg_indexes WHERE schemaname = 'ipam' AND indexname = 'allocation_segment_ip_unique'`;
  expect(constraint?.indexdef).toMatch(/UNIQUE INDEX .*\(segment, ip_num\)/);
  const duplicates = await t.db.prisma.$queryRaw<unknown[]>`
    SELECT segment, ip_num FROM ipam.allocation GROUP BY segment, ip_num HAVING count(*) > 1`;
  expect(duplicates).toEqual([]);

  // `used` matches what the clients hold.
  const load = (await api('GET', '/v1/pools/load')).body;
  const inner = (await api('GET', '/v1/pools/load-inner')).body;
  const inRange = (ip: string, lo: number, hi: number) => {
    const last = Number(ip.split('.')[3]);
    return last >= lo && last <= hi;
  };
  expect(load.used).toBe(heldAtEnd.filter((ip) => inRange(ip, 10, 250)).length);
  expect(inner.used).toBe(heldAtEnd.filter((ip) => inRange(ip, 100, 200)).length);

  // Release everything; then the whole range is free again, as one contiguous block.
  const rows = await t.db.prisma.$queryRaw<
    { pool: string; ip: string }[]
  >`SELECT pool, ip FROM ipam.allocation`;
  for (const row of rows)
    expect((await api('DELETE', `/v1/pools/${row.pool}/allocations/${row.ip}`)).status).toBe(204);
  expect((await api('GET', '/v1/pools/load')).body.used).toBe(0);
  const whole = await api('POST', '/v1/pools/load/allocations', {
    owner: 'final',
    start: '10.200.0.10',
    count: 241,
  });
  expect(whole.status).toBe(201);
}, 300_000);
