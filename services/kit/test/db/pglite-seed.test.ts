import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateDatabase, openDatabase, writePgliteSeed } from '../../src/db';
import { committedMigrations } from './fixtures';

// The embedded default's first start: a new PGlite folder made from the build's migrated seed
// instead of by initdb; a folder that exists keeps its data; no seed file, and initdb runs.
jest.setTimeout(120_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pglite-seed-test-'));
const seed = path.join(work, 'seed.tar.gz');

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  const written = await writePgliteSeed(seed);
  expect(written.migrations).toBe(committedMigrations().length);
  expect(fs.statSync(seed).size).toBe(written.bytes);
});

test('a new folder starts from the seed, with every migration and nothing left to apply', async () => {
  const url = `pglite://${path.join(work, 'new', 'pglite')}`;
  const db = await openDatabase({ url, pgliteSeed: seed });
  try {
    expect(db.seeded).toBe(true);
    expect(await migrateDatabase({ database: db })).toEqual({ applied: [] });
    // The seed is a working database, not only the migrations table: a platform table takes rows.
    await db.prisma
      .$executeRaw`INSERT INTO quota."user" (name, created_via, updated_at) VALUES ('seeded', 'test', now())`;
    const rows = await db.prisma.$queryRaw<{ name: string }[]>`SELECT name FROM quota."user"`;
    expect(rows.map((r) => r.name)).toEqual(['seeded']);
  } finally {
    await db.close();
  }
  // Opened again with the seed: the folder exists, its data stays.
  const again = await openDatabase({ url, pgliteSeed: seed });
  try {
    expect(again.seeded).toBe(false);
    const rows = await again.prisma.$queryRaw<{ name: string }[]>`SELECT name FROM quota."user"`;
    expect(rows.map((r) => r.name)).toEqual(['seeded']);
  } finally {
    await again.close();
  }
});

test('without the seed file a new folder is made by initdb and migrated as before', async () => {
  const url = `pglite://${path.join(work, 'no-seed', 'pglite')}`;
  const db = await openDatabase({ url, pgliteSeed: path.join(work, 'missing.tar.gz') });
  try {
    expect(db.seeded).toBe(false);
    expect(await migrateDatabase({ database: db })).toEqual({ applied: committedMigrations() });
  } finally {
    await db.close();
  }
});
