/**
 * Admission under concurrency, through the real broker: with a limit of 10 containers, 50
 * concurrent requests of one container each give exactly 10 grants, whichever of two quota
 * replicas decides them; after 3 releases, 3 more are granted.
 */
import { randomUUID } from 'node:crypto';
import { enqueueEvent } from '@testbed/kit';
import { startTestHost, type TestHost } from '../../../test/support/test-host';
import { createQuotaService, defaultQuotaConfig, QUOTA_COMMANDS, quotaEventTypes } from '../src';

const config = {
  ...defaultQuotaConfig,
  QUOTA_KNOWN_NODES: 'node1',
  QUOTA_ENFORCE_RESERVATIONS: false,
  QUOTA_MAX_CONTAINERS: 10,
};
let a: TestHost;
let b: TestHost;

beforeAll(async () => {
  a = await startTestHost({
    name: 'quota_admit',
    database: 'postgres',
    bus: 'kafka',
    modules: (deps) => [createQuotaService({ ...deps, config })],
  });
  b = await startTestHost({
    name: 'quota_admit_b',
    database: { url: a.databaseUrl },
    bus: 'kafka',
    kafkaNamespace: a.kafkaNamespace,
    modules: (deps) => [createQuotaService({ ...deps, config })],
  });
}, 180_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

/** Sends the commands as provisioning does: through the outbox, each in its own transaction, all at once. */
async function send(type: string, datas: Record<string, unknown>[]): Promise<void> {
  await Promise.all(
    datas.map((data) =>
      a.db.prisma.$transaction((tx) =>
        enqueueEvent(tx, {
          source: 'provisioning',
          topic: QUOTA_COMMANDS,
          key: String(data.requestId),
          type,
          data,
        }),
      ),
    ),
  );
}

async function decisions(
  requestIds: string[],
): Promise<Map<string, { decision: string; reason: string | null }>> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const rows = await a.db.prisma.$queryRaw<
      { request_id: string; decision: string; reason: string | null }[]
    >`
      SELECT request_id, decision::text, reason FROM quota.admission WHERE request_id = ANY(${requestIds})`;
    if (rows.length === requestIds.length) return new Map(rows.map((r) => [r.request_id, r]));
    if (Date.now() > deadline)
      throw new Error(`only ${rows.length} of ${requestIds.length} admissions decided`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const request = (requestId: string) => ({
  requestId,
  user: 'carol',
  node: 'node1',
  count: 1,
  cpuMillis: 100,
  memoryBytes: 64 * 1024 ** 2,
  addresses: 1,
});

test('exactly 10 of 50 concurrent requests are granted; after 3 releases exactly 3 more', async () => {
  const first = Array.from({ length: 50 }, () => randomUUID());
  await send(quotaEventTypes.reserveRequested, first.map(request));
  const decided = await decisions(first);
  const granted = first.filter((id) => decided.get(id)!.decision === 'granted');
  expect(granted).toHaveLength(10);
  const refused = first.find((id) => decided.get(id)!.decision === 'rejected')!;
  expect(decided.get(refused)!.reason).toBe('limit 10 containers, 10 in use, 1 requested');
  // Each request was decided once, whichever replica took it.
  const processed = await a.db.prisma.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM bus.processed_event WHERE consumer = 'quota'`;
  expect(Number(processed[0]!.n)).toBe(50);

  await send(
    quotaEventTypes.releaseRequested,
    granted.slice(0, 3).map((requestId) => ({ requestId })),
  );
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [row] = await a.db.prisma.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM quota.admission WHERE released_at IS NOT NULL`;
    if (Number(row!.n) === 3) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const second = Array.from({ length: 10 }, () => randomUUID());
  await send(quotaEventTypes.reserveRequested, second.map(request));
  const again = await decisions(second);
  expect(second.filter((id) => again.get(id)!.decision === 'granted')).toHaveLength(3);

  const usage = (await (await a.call('ops', 'operator', '/v1/users/carol/usage')).json()) as {
    containers: { held: number; available: number };
  };
  expect(usage.containers).toMatchObject({ held: 10, available: 0 });
}, 240_000);
