import WebSocket from 'ws';
import { waitFor } from '@testbed/test-support/wait';
import type { TestHost } from '@testbed/test-support/test-host';
import { batchOf, dockerId, sampleOf } from './batches';
import { openLive } from './live-client';
import { announceStarted, publishBatches, rawRows, startStatsHost } from './stats-host';

// The whole service on PGlite and the in-process bus: ingest, derivation, replays, live stream,
// overview, history and who sees what.
jest.setTimeout(60_000);

let host: TestHost;
beforeAll(async () => {
  host = await startStatsHost({ name: 'stats-ingest' });
});
afterAll(async () => {
  await host?.stop();
});

const MiB = 1024 * 1024;

test('counters become figures: CPU from deltas, memory as docker stats counts it, network rates', async () => {
  const a = dockerId();
  const t0 = Date.now() - 60_000;
  const samples = (i: number) => [
    sampleOf(a.ref, {
      cpuUsec: 1_000_000 + i * 1_500_000, // 1.5 s of CPU every 3 s: 50 % of one core
      interfaces: [{ name: 'eth0', rxBytes: 1000 + i * 3000, rxPackets: 10 + i, txBytes: 500, txPackets: 5 }],
    }),
  ];
  await publishBatches(
    host,
    [0, 1, 2].map((i) => batchOf('n-derive', { seq: i + 1, t: t0 + i * 3000, samples: samples(i) })),
  );
  const rows = await waitFor('three rows', async () => {
    const r = (await rawRows(host)).filter((x) => x.t.getTime() >= t0 && x.t.getTime() <= t0 + 6000);
    return r.length === 3 ? r : undefined;
  });
  expect(rows.map((r) => r.cpu_pct)).toEqual([null, 50, 50]);
  expect(rows.every((r) => Number(r.mem_bytes) === 28 * MiB)).toBe(true);
  const history = await host.call(
    'ops',
    'operator',
    `/v1/containers/${a.ref}/stats?from=${new Date(t0 - 1000).toISOString()}&to=${new Date(t0 + 9000).toISOString()}&step=3`,
  );
  expect(history.status).toBe(200);
  const body = (await history.json()) as {
    tier: string;
    points: { cpuPercent: number | null; rxBytesPerSecond: number | null; memoryPercentOfLimit?: number }[];
  };
  expect(body.tier).toBe('raw');
  expect(body.points.map((p) => p.cpuPercent)).toEqual([null, 50, 50]);
  expect(body.points[1]!.rxBytesPerSecond).toBe(1000);
  expect(body.points[1]!.memoryPercentOfLimit).toBeCloseTo(43.75);
});

test('a batch delivered again, or sent twice, is stored once', async () => {
  const a = dockerId();
  const t0 = Date.now() - 50_000;
  const batches = [1, 2, 3].map((seq) =>
    batchOf('n-replay', { seq, t: t0 + seq * 3000, samples: [sampleOf(a.ref, { cpuUsec: seq * 100_000 })] }),
  );
  await publishBatches(host, batches);
  await waitFor('three rows', async () => (await countOf(host, 'n-replay')) === 3);
  await publishBatches(host, [batches[1]!, batches[0]!, batches[2]!, batches[2]!]);
  // A later batch flows behind the replays: once it is stored, the replays were handled too.
  await publishBatches(host, [
    batchOf('n-replay', { seq: 4, t: t0 + 12_000, samples: [sampleOf(a.ref, { cpuUsec: 400_000 })] }),
  ]);
  await waitFor('the fourth row', async () => (await countOf(host, 'n-replay')) === 4);
  expect(await countOf(host, 'n-replay')).toBe(4);
  expect(await metric(host, 'stats_batches_total{outcome="duplicate"}')).toBeGreaterThanOrEqual(4);
});

test('a counter that goes back starts a new series: never a negative or absurd figure', async () => {
  const a = dockerId();
  const t0 = Date.now() - 40_000;
  const cpu = [5_000_000, 7_000_000, 200_000, 900_000, 90_000_000_000];
  const generation = [1, 1, 2, 2, 2];
  await publishBatches(
    host,
    cpu.map((c, i) =>
      batchOf('n-restart', {
        seq: i + 1,
        t: t0 + i * 3000,
        samples: [sampleOf(a.ref, { cpuUsec: c, generation: generation[i]! })],
      }),
    ),
  );
  const rows = await waitFor('five rows', async () => {
    const r = await seriesRows(host, 'n-restart');
    return r.length === 5 ? r : undefined;
  });
  // 2 s of CPU in 3 s: 66.7 %; the restart and the absurd jump (90,000 s in 3 s on 2 CPUs) are null.
  expect(rows.map((r) => (r === null ? null : Math.round(r)))).toEqual([null, 67, null, 23, null]);
});

test('the live stream and the overview show each user their own containers, operators all', async () => {
  const mine = dockerId();
  const theirs = dockerId();
  const other = dockerId();
  const aliceId = await announceStarted(host, {
    node: 'n-live',
    owner: 'alice',
    name: 'alice-1',
    dockerId: mine.id,
  });
  await announceStarted(host, { node: 'n-live', owner: 'bob', name: 'bob-1', dockerId: theirs.id });
  const alice = await openLive(`${host.url}/v1/stats/live`, await host.token('alice'));
  const ops = await openLive(`${host.url}/v1/stats/live?node=n-live`, await host.token('ops', 'operator'));
  expect(alice.status).toBe(200);
  const seq = { n: 0 };
  const publish = async (refs: string[]) =>
    publishBatches(host, [
      batchOf('n-live', {
        seq: ++seq.n,
        t: Date.now(),
        samples: refs.map((r) => sampleOf(r, { cpuUsec: seq.n * 300_000 })),
      }),
    ]);
  try {
    await waitFor(
      'the owners to be known',
      async () => {
        await publish([mine.ref, theirs.ref, other.ref]);
        const items = await overview(host, 'alice');
        return items.length === 1 && items[0]!.containerId === aliceId;
      },
      15_000,
      300,
    );
    const aliceSees = await alice.next((m) => m.event === 'samples' && ids(m.data).length > 0, 10_000);
    expect(ids(aliceSees.data)).toEqual([aliceId]);
    const opsSees = await ops.next((m) => m.event === 'samples' && ids(m.data).length === 3, 10_000);
    expect(ids(opsSees.data)).toContain(other.id.slice(0, 12));
    expect((await overview(host, 'bob')).map((i) => i.name)).toEqual(['bob-1']);
    expect(await overview(host, 'carol')).toEqual([]);
    // The history of someone else's container is not found, as if it did not exist.
    expect((await host.call('bob', 'user', `/v1/containers/${aliceId}/stats`)).status).toBe(404);
    expect((await host.call('alice', 'user', `/v1/containers/${aliceId}/stats`)).status).toBe(200);
    expect((await host.call('alice', 'user', `/v1/containers/${other.ref}/stats`)).status).toBe(404);

    // A container missing from its node's next batch leaves the view at once.
    await publish([theirs.ref, other.ref]);
    const gone = await alice.next((m) => m.event === 'gone', 10_000);
    expect((gone.data as { containerIds: string[] }).containerIds).toEqual([aliceId]);
    expect(await overview(host, 'alice')).toEqual([]);
  } finally {
    alice.close();
    ops.close();
  }
});

test('the live stream is also a WebSocket at the same path, the token in a subprotocol', async () => {
  const mine = dockerId();
  const id = await announceStarted(host, { node: 'n-ws', owner: 'dora', name: 'dora-1', dockerId: mine.id });
  const url = host.url.replace('http', 'ws') + '/v1/stats/live?node=n-ws';
  const ws = new WebSocket(url, ['testbed.live.v1', `bearer.${await host.token('dora')}`]);
  const frames: { type: string; items?: { containerId: string; cpuPercent: number | null }[] }[] = [];
  ws.on('message', (m) => frames.push(JSON.parse(m.toString()) as (typeof frames)[number]));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  expect(ws.protocol).toBe('testbed.live.v1');
  try {
    let seq = 0;
    await waitFor(
      "dora's container in a frame",
      async () => {
        seq++;
        await publishBatches(host, [
          batchOf('n-ws', { seq, t: Date.now(), samples: [sampleOf(mine.ref, { cpuUsec: seq * 600_000 })] }),
        ]);
        return frames.some(
          (f) => f.type === 'samples' && f.items?.some((i) => i.containerId === id && i.cpuPercent !== null),
        );
      },
      15_000,
      500,
    );
    expect(frames[0]!.type).toBe('snapshot');
  } finally {
    ws.close();
  }
  // Without a token the upgrade is refused with 401.
  const refused = new WebSocket(url);
  const status = await new Promise<number>((resolve) =>
    refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
  );
  expect(status).toBe(401);
});

test('bad queries are answered 422 naming the field, unknown ones 404', async () => {
  const bad = await host.call('ops', 'operator', '/v1/containers/not-an-id/stats');
  expect(bad.status).toBe(422);
  const step = await host.call(
    'ops',
    'operator',
    `/v1/nodes/n-derive/stats?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&step=1`,
  );
  expect(step.status).toBe(422);
  expect(((await step.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('query.step');
  const zone = await host.call('ops', 'operator', `/v1/nodes/n-derive/stats?from=2026-01-01T00:00:00`);
  expect(zone.status).toBe(422);
  expect((await host.call('ops', 'operator', '/v1/nodes/no-such-node/stats')).status).toBe(404);
  expect((await host.call('ops', 'operator', `/v1/containers/${dockerId().ref}/stats`)).status).toBe(404);
  expect((await fetch(`${host.url}/v1/stats/live`)).status).toBe(401);
});

async function countOf(h: TestHost, node: string): Promise<number> {
  const rows = await h.db.prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM stats.sample_raw r JOIN stats.series s ON s.key = r.series WHERE s.node = $1`,
    node,
  );
  return Number(rows[0]!.n);
}

async function seriesRows(h: TestHost, node: string): Promise<(number | null)[]> {
  const rows = await h.db.prisma.$queryRawUnsafe<{ cpu_pct: number | null }[]>(
    `SELECT r.cpu_pct FROM stats.sample_raw r JOIN stats.series s ON s.key = r.series WHERE s.node = $1 ORDER BY r.t`,
    node,
  );
  return rows.map((r) => (r.cpu_pct === null ? null : Number(r.cpu_pct)));
}

async function overview(h: TestHost, user: string): Promise<{ containerId: string; name: string }[]> {
  const res = await h.call(user, 'user', '/v1/stats/containers');
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { containerId: string; name: string }[] }).items;
}

function ids(data: unknown): string[] {
  return ((data as { items: { containerId: string }[] }).items ?? []).map((i) => i.containerId).sort();
}

async function metric(h: TestHost, series: string): Promise<number> {
  const text = await h.metrics.metrics();
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line ? Number(line.split(' ').pop()) : 0;
}
