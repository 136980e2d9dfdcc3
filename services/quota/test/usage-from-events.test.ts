/**
 * Usage kept from the bus (PGlite, in-process bus, injected clock): a grant holds, a started
 * container turns the hold into use, a removed one frees it, a hold expires; and with
 * reservations enforced a user needs one covering the node now.
 */
import { randomUUID } from 'node:crypto';
import { enqueueEvent } from '@testbed/kit';
import { ManualClock } from '@testbed/test-support/clock';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { PROVISIONING_EVENTS } from '@testbed/provisioning/src/events/contracts';
import { containerRemoved, containerStarted } from '@testbed/test-support/fixtures/events';
import { createQuotaService, defaultQuotaConfig, QUOTA_COMMANDS, quotaEventTypes } from '../src';

const clock = new ManualClock(new Date('2030-09-01T09:00:00Z'));
let t: TestHost;

beforeAll(async () => {
  t = await startTestHost({
    name: 'quota-usage',
    database: 'pglite',
    bus: 'in-process',
    clock,
    modules: (deps) => [
      createQuotaService({
        ...deps,
        config: { ...defaultQuotaConfig, QUOTA_KNOWN_NODES: 'node1,node2', QUOTA_HOLD_SECONDS: 60 },
      }),
    ],
  });
  expect(
    (await t.call('ops', 'operator', '/v1/users/erin/quota', { method: 'PUT', body: '{}' })).status,
  ).toBe(201);
});
afterAll(() => t.stop());

const send = (topic: string, type: string, data: object) =>
  t.db.prisma.$transaction((tx) =>
    enqueueEvent(tx, { source: 'provisioning', topic, key: 'erin', type, data }),
  );

async function decision(requestId: string): Promise<{ decision: string; code: string | null }> {
  for (let i = 0; i < 100; i++) {
    const [row] = await t.db.prisma.$queryRaw<{ decision: string; code: string | null }[]>`
      SELECT decision::text, code FROM quota.admission WHERE request_id = ${requestId}`;
    if (row) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no decision for ${requestId}`);
}

async function containers(): Promise<{ inUse: number; held: number }> {
  const usage = (await (await t.call('erin', 'user', '/v1/users/erin/usage')).json()) as {
    containers: { inUse: number; held: number };
  };
  return usage.containers;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
}

const ask = (requestId: string, node = 'node1') =>
  send(QUOTA_COMMANDS, quotaEventTypes.reserveRequested, {
    requestId,
    user: 'erin',
    node,
    count: 1,
    cpuMillis: 500,
    memoryBytes: 1 << 26,
    addresses: 1,
  });

test('a reservation covering the node now is needed; then grant → hold → use → free', async () => {
  const early = randomUUID();
  await ask(early);
  expect(await decision(early)).toMatchObject({ decision: 'rejected', code: 'no-reservation' });

  const now = clock.now().getTime();
  const booked = await t.call('reservation-system', 'service', '/v1/reservations', {
    method: 'POST',
    body: JSON.stringify({
      user: 'erin',
      nodes: ['node1'],
      start: new Date(now + 1000).toISOString(),
      end: new Date(now + 3600_000).toISOString(),
    }),
  });
  expect(booked.status).toBe(201);
  clock.advance(2000);

  const requestId = randomUUID();
  await ask(requestId);
  expect(await decision(requestId)).toMatchObject({ decision: 'granted' });
  expect(await containers()).toMatchObject({ inUse: 0, held: 1 });
  const other = randomUUID();
  await ask(other, 'node2');
  expect(await decision(other)).toMatchObject({ decision: 'rejected', code: 'no-reservation' });

  // provisioning's container.started as its contract has it (quota validates what it receives).
  await send(
    PROVISIONING_EVENTS,
    'container.started',
    containerStarted({ containerId: 'c-1', owner: 'erin', node: 'node1', requestId }),
  );
  await until(async () => (await containers()).inUse === 1);
  expect(await containers()).toMatchObject({ inUse: 1, held: 0 });

  // Another start event of the same container (a replay) counts it once; a container quota
  // never admitted (no request) behind it on the same key shows the replay was handled first.
  await send(
    PROVISIONING_EVENTS,
    'container.started',
    containerStarted({ containerId: 'c-1', owner: 'erin', node: 'node1', requestId }),
  );
  await send(
    PROVISIONING_EVENTS,
    'container.started',
    containerStarted({ containerId: 'c-2', owner: 'erin', node: 'node1' }),
  );
  await until(async () => (await containers()).inUse === 2);
  expect(await containers()).toMatchObject({ inUse: 2, held: 0 });

  for (const containerId of ['c-1', 'c-2'])
    await send(
      PROVISIONING_EVENTS,
      'container.removed',
      containerRemoved({ containerId, node: 'node1', owner: 'erin' }),
    );
  await until(async () => (await containers()).inUse === 0);
  expect(await containers()).toMatchObject({ inUse: 0, held: 0 });
});

test('a hold whose container never starts expires', async () => {
  const requestId = randomUUID();
  await ask(requestId);
  expect(await decision(requestId)).toMatchObject({ decision: 'granted' });
  expect((await containers()).held).toBe(1);
  clock.advance(61_000);
  expect((await containers()).held).toBe(0);
});
