import { rmSync } from 'node:fs';
import { migrateDatabase, openDatabase, type Database } from '../../src/db';
import { committedMigrations, FUNCTION_MIGRATION, migrationsPlus } from './fixtures';

// The start-up check of the embedded default: a database that has every migration answers at
// once (without the schema engine); one migration short, and the engine applies it.
jest.setTimeout(120_000);

let db: Database | undefined;
const dirs: string[] = [];

afterAll(async () => {
  await db?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a database with every migration is up to date; a new migration is still applied', async () => {
  db = await openDatabase({ url: 'pglite://memory' });
  expect(await migrateDatabase({ database: db })).toEqual({ applied: committedMigrations() });
  const t0 = Date.now();
  expect(await migrateDatabase({ database: db })).toEqual({ applied: [] });
  // No engine to compile and instantiate: a query of the migrations table.
  expect(Date.now() - t0).toBeLessThan(1_000);

  const withOneMore = migrationsPlus(FUNCTION_MIGRATION);
  dirs.push(withOneMore);
  expect(await migrateDatabase({ database: db, migrationsDir: withOneMore })).toEqual({
    applied: Object.keys(FUNCTION_MIGRATION),
  });
  expect(await migrateDatabase({ database: db, migrationsDir: withOneMore })).toEqual({ applied: [] });
  const [row] = await db.prisma.$queryRaw<{ answer: number }[]>`SELECT bus.answer() AS answer`;
  expect(row!.answer).toBe(42);
});
