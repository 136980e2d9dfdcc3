import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { migrateDatabase, openDatabase, type Database } from '../../src/db';
import {
  busTables,
  committedMigrations,
  insertOutboxRow,
  FUNCTION_MIGRATION,
  BROKEN_MIGRATION,
  migrationsPlus,
  outboxCount,
  tempDir,
} from './fixtures';

// Real PGlite in a fresh temp folder (the embedded default's database). PGlite starts in seconds.
jest.setTimeout(120_000);

const root = tempDir('pglite-test');
const dataDir = path.join(root, 'pglite');
const url = `pglite://${dataDir}`;
let db: Database | undefined;

afterAll(async () => {
  await db?.close();
  rmSync(root, { recursive: true, force: true });
});

test('migrateDatabase brings a fresh PGlite folder to the schema, then applies nothing', async () => {
  expect(await migrateDatabase({ url })).toEqual({ applied: committedMigrations() });
  expect(await migrateDatabase({ url })).toEqual({ applied: [] });
  // The runner closed the folder and released it: the embedded default can open it now.
  expect(existsSync(`${dataDir}.lock`)).toBe(false);

  db = await openDatabase({ url });
  expect(db.kind).toBe('pglite');
  await db.ping();
  expect(await busTables(db.prisma)).toEqual(['dead_letter', 'outbox', 'processed_event']);
});

test('the embedded start-up path: migrate through the open Database', async () => {
  const fresh = await openDatabase({ url: 'pglite://memory' });
  try {
    expect(await migrateDatabase({ database: fresh })).toEqual({ applied: committedMigrations() });
    expect(await migrateDatabase({ database: fresh })).toEqual({ applied: [] });
    // The shared instance is still usable by the client after the runner is done.
    expect(await busTables(fresh.prisma)).toEqual(['dead_letter', 'outbox', 'processed_event']);
  } finally {
    await fresh.close();
  }
});

test('one owner per PGlite folder: a second open fails instead of losing writes', async () => {
  await expect(openDatabase({ url })).rejects.toThrow(/already open in this process/);
  await expect(migrateDatabase({ url })).rejects.toThrow(/already open in this process/);
  // The owner migrates through its own instance.
  expect(await migrateDatabase({ database: db! })).toEqual({ applied: [] });
});

test('raw SQL in an interactive transaction rolls back when the callback throws', async () => {
  const prisma = db!.prisma;
  const before = await outboxCount(prisma);
  await expect(
    prisma.$transaction(async (tx) => {
      await insertOutboxRow(tx);
      expect(await outboxCount(tx)).toBe(before + 1);
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(await outboxCount(prisma)).toBe(before);

  await expect(
    prisma.$transaction(async (tx) => {
      await insertOutboxRow(tx);
      await tx.$executeRaw`INSERT INTO bus.outbox (id) VALUES (${'not-a-uuid'}::uuid)`;
    }),
  ).rejects.toThrow();
  expect(await outboxCount(prisma)).toBe(before);

  await prisma.$transaction(async (tx) => {
    await insertOutboxRow(tx);
    // Postgres syntax the bus uses; PGlite accepts it (one connection: nothing is ever skipped).
    await tx.$queryRaw`SELECT seq FROM bus.outbox WHERE published_at IS NULL ORDER BY seq FOR UPDATE SKIP LOCKED`;
  });
  expect(await outboxCount(prisma)).toBe(before + 1);
});

test('data survives close and reopen of the folder', async () => {
  const count = await outboxCount(db!.prisma);
  await db!.close();
  db = await openDatabase({ url });
  expect(await outboxCount(db.prisma)).toBe(count);
});

test('migrations run whole (semicolons in function bodies); a failing one is rolled back and reported', async () => {
  const good = migrationsPlus(FUNCTION_MIGRATION);
  const broken = migrationsPlus({ ...FUNCTION_MIGRATION, ...BROKEN_MIGRATION });
  const fresh = await openDatabase({ url: 'pglite://memory' });
  try {
    expect(await migrateDatabase({ database: fresh, migrationsDir: good })).toEqual({
      applied: [...committedMigrations(), '29990101000000_function'],
    });
    expect(await fresh.prisma.$queryRaw`SELECT bus.answer() AS a`).toEqual([{ a: 42 }]);

    await expect(migrateDatabase({ database: fresh, migrationsDir: broken })).rejects.toThrow(
      /no_such_function/,
    );
    expect(await busTables(fresh.prisma)).toEqual(['dead_letter', 'outbox', 'processed_event']);
    // Recorded as failed, as prisma migrate does: later runs refuse until someone resolves it.
    await expect(migrateDatabase({ database: fresh, migrationsDir: broken })).rejects.toThrow(
      /29990102000000_broken/,
    );
  } finally {
    await fresh.close();
    for (const dir of [good, broken]) rmSync(dir, { recursive: true, force: true });
  }
});
