import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { migrateDatabase, openDatabase, Prisma, type Database } from '../../src/db';
import { rmSync } from 'node:fs';
import {
  busTables,
  committedMigrations,
  insertOutboxRow,
  FUNCTION_MIGRATION,
  BROKEN_MIGRATION,
  migrationsPlus,
  outboxCount,
} from './fixtures';
import { createTestDatabase, type TestDatabase } from './pg-server';

// Real Postgres (the rig's server), a fresh database per file.
let testDb: TestDatabase;
let db: Database;
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

test('migrateDatabase brings a fresh database to the schema, then applies nothing', async () => {
  const first = await migrateDatabase({ url: testDb.url });
  expect(first.applied).toEqual(committedMigrations());
  const second = await migrateDatabase({ url: testDb.url });
  expect(second.applied).toEqual([]);

  db = await openDatabase({ url: testDb.url });
  expect(db.kind).toBe('postgres');
  await db.ping();
  expect(await busTables(db.prisma)).toEqual(['dead_letter', 'outbox', 'processed_event']);
  // The runtime path (an open Database) agrees that nothing is pending.
  expect(await migrateDatabase({ database: db })).toEqual({ applied: [] });
});

test('concurrent runners on a fresh database apply each migration once (advisory lock)', async () => {
  const other = await createTestDatabase();
  try {
    const results = await Promise.all([
      migrateDatabase({ url: other.url }),
      migrateDatabase({ url: other.url }),
    ]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(committedMigrations());
  } finally {
    await other.drop();
  }
});

test('raw SQL in an interactive transaction rolls back when the callback throws', async () => {
  const before = await outboxCount(db.prisma);
  await expect(
    db.prisma.$transaction(async (tx) => {
      await insertOutboxRow(tx);
      expect(await outboxCount(tx)).toBe(before + 1);
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(await outboxCount(db.prisma)).toBe(before);

  await db.prisma.$transaction(async (tx) => {
    await insertOutboxRow(tx);
  });
  expect(await outboxCount(db.prisma)).toBe(before + 1);
});

test('a failing statement inside the transaction rolls back the earlier ones', async () => {
  const before = await outboxCount(db.prisma);
  await expect(
    db.prisma.$transaction(async (tx) => {
      await insertOutboxRow(tx);
      await tx.$executeRaw`INSERT INTO bus.outbox (id) VALUES (${'not-a-uuid'}::uuid)`;
    }),
  ).rejects.toThrow();
  expect(await outboxCount(db.prisma)).toBe(before);
});

test('FOR UPDATE SKIP LOCKED: a second transaction skips the rows the first holds', async () => {
  await db.prisma.$transaction(async (tx) => {
    await insertOutboxRow(tx, 'skip-locked');
  });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));

  const first = db.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ seq: bigint }[]>`
      SELECT seq FROM bus.outbox WHERE source = 'skip-locked' AND published_at IS NULL ORDER BY seq FOR UPDATE SKIP LOCKED`;
    locked();
    await held;
    return rows.length;
  });
  await isLocked;
  const second = await db.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ seq: bigint }[]>`
      SELECT seq FROM bus.outbox WHERE source = 'skip-locked' AND published_at IS NULL ORDER BY seq FOR UPDATE SKIP LOCKED`;
    return rows.length;
  });
  release();
  expect(await first).toBe(1);
  expect(second).toBe(0);
});

test('the model API maps to the snake_case tables, and unique violations are P2002', async () => {
  const row = await db.prisma.processedEvent.create({ data: { consumer: 'quota', eventId: 'e-1' } });
  expect(row.processedAt).toBeInstanceOf(Date);
  const dup = db.prisma.processedEvent.create({ data: { consumer: 'quota', eventId: 'e-1' } });
  await expect(dup).rejects.toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
  await expect(dup).rejects.toMatchObject({ code: 'P2002' });

  const outbox = await db.prisma.outbox.findFirst({ orderBy: { seq: 'desc' } });
  expect(typeof outbox?.seq).toBe('bigint');
  expect(outbox?.headers).toEqual({});
});

test('database calls produce spans named db <Model>.<operation>', async () => {
  spans.reset();
  await trace.getTracer('test').startActiveSpan('request', async (parent) => {
    await db.prisma.deadLetter.count();
    await db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT 1`;
    });
    parent.end();
  });
  const finished = spans.getFinishedSpans();
  const parent = finished.find((s) => s.name === 'request');
  const names = finished.map((s) => s.name);
  expect(names).toEqual(expect.arrayContaining(['db DeadLetter.count', 'db $executeRaw']));
  for (const s of finished.filter((x) => x.name.startsWith('db '))) {
    expect(s.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(s.attributes['db.system.name']).toBe('postgresql');
  }
});

test('migrations run whole (semicolons in function bodies); a failing one is rolled back and reported', async () => {
  const good = migrationsPlus(FUNCTION_MIGRATION);
  const broken = migrationsPlus({ ...FUNCTION_MIGRATION, ...BROKEN_MIGRATION });
  const other = await createTestDatabase();
  const check = await openDatabase({ url: other.url });
  try {
    expect(await migrateDatabase({ url: other.url, migrationsDir: good })).toEqual({
      applied: [...committedMigrations(), '29990101000000_function'],
    });
    expect(await check.prisma.$queryRaw`SELECT bus.answer() AS a`).toEqual([{ a: 42 }]);

    await expect(migrateDatabase({ url: other.url, migrationsDir: broken })).rejects.toThrow(
      /no_such_function/,
    );
    expect(await busTables(check.prisma)).toEqual(['dead_letter', 'outbox', 'processed_event']);
    // Recorded as failed, as prisma migrate does: later runs refuse until someone resolves it.
    await expect(migrateDatabase({ url: other.url, migrationsDir: broken })).rejects.toThrow(
      /29990102000000_broken/,
    );
  } finally {
    await check.close();
    await other.drop();
    for (const dir of [good, broken]) rmSync(dir, { recursive: true, force: true });
  }
});

test('a connection the server ends while idle is reported and replaced, never an unhandled error', async () => {
  const seen: Error[] = [];
  const own = await openDatabase({
    url: testDb.url,
    applicationName: 'idle-kill-test',
    onPoolError: (e) => seen.push(e),
  });
  try {
    await own.ping(); // one idle connection in the pool
    const admin = await openDatabase({ url: testDb.url });
    try {
      await admin.prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'idle-kill-test' AND pid <> pg_backend_pid()`;
    } finally {
      await admin.close();
    }
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen[0]?.message).toMatch(/terminat/);
    await own.ping(); // a new connection serves the next query
    await expect(own.prisma.$queryRaw`SELECT 1 AS one`).resolves.toEqual([{ one: 1 }]);
  } finally {
    await own.close();
  }
});
