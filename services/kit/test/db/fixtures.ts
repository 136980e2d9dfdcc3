import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DbClient } from '../../src/db';
import { defaultMigrationsDir } from '../../src/db/migrations-dir';

/** The committed migration folders, in order: what a fresh database must get. */
export function committedMigrations(): string[] {
  return readdirSync(defaultMigrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export async function busTables(prisma: Pick<DbClient, '$queryRaw'>): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ table_name: string }[]>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'bus' ORDER BY table_name`;
  return rows.map((r) => r.table_name);
}

/** One outbox row as the bus writes it: raw SQL, in the caller's transaction. */
export function insertOutboxRow(tx: Pick<DbClient, '$executeRaw'>, source = 'test') {
  const id = randomUUID();
  const event = JSON.stringify({ specversion: '1.0', id, source, type: 'test.happened' });
  return tx.$executeRaw`
    INSERT INTO bus.outbox (id, source, topic, key, event)
    VALUES (${id}::uuid, ${source}, 'testbed.test.events', 'k1', ${event}::jsonb)`;
}

export async function outboxCount(prisma: Pick<DbClient, '$queryRaw'>): Promise<number> {
  const [row] = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM bus.outbox`;
  return row?.n ?? -1;
}

/**
 * A copy of the committed migrations plus `extra` ones (folder name → SQL), as a later issue adds
 * them. The names given here sort after every committed one.
 */
export function migrationsPlus(extra: Record<string, string>): string {
  const dir = tempDir('migrations');
  cpSync(defaultMigrationsDir, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

/** Semicolons inside a function body: a naive statement splitter breaks this. */
export const FUNCTION_MIGRATION = {
  '29990101000000_function': `CREATE FUNCTION bus.answer() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1; -- a comment; with a semicolon
  RETURN 42;
END $$;
`,
};

/** Fails at its second statement: the first must not stay behind. */
export const BROKEN_MIGRATION = {
  '29990102000000_broken': 'CREATE TABLE bus.half_done (x int);\nSELECT no_such_function();\n',
};
