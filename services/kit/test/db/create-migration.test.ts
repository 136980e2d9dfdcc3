import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createMigration } from '../../src/db';
import { defaultMigrationsDir, defaultSchemaDir, nextMigrationName } from '../../src/db/migrations-dir';
import { tempDir } from './fixtures';

// The diff replays the migrations into an in-memory PGlite: no server, seconds per call.
jest.setTimeout(120_000);

const work = tempDir('create-migration');
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('the committed migrations match the schema files (no migration missing)', async () => {
  const migrationsDir = path.join(work, 'committed');
  cpSync(defaultMigrationsDir, migrationsDir, { recursive: true });
  expect(await createMigration({ name: 'check', migrationsDir })).toEqual({});
  expect(readdirSync(migrationsDir).sort()).toEqual(readdirSync(defaultMigrationsDir).sort());
});

test("a new service's schema file becomes a new migration with its own Postgres schema", async () => {
  const schemaDir = path.join(work, 'schema');
  const migrationsDir = path.join(work, 'migrations');
  cpSync(defaultSchemaDir, schemaDir, { recursive: true });
  cpSync(defaultMigrationsDir, migrationsDir, { recursive: true });
  // What a later issue does: list the schema, add the file.
  const main = path.join(schemaDir, 'schema.prisma');
  const listed = readFileSync(main, 'utf8').replace(/schemas\s*=\s*\[/, 'schemas  = ["demo", ');
  expect(listed).toContain('"demo"');
  writeFileSync(main, listed);
  writeFileSync(
    path.join(schemaDir, 'demo.prisma'),
    'model DemoWidget {\n  id   String @id\n  size Int\n\n  @@map("widget")\n  @@schema("demo")\n}\n',
  );

  const { created, sql } = await createMigration({
    name: 'Add demo widgets!',
    schemaDir,
    migrationsDir,
    now: new Date('2030-01-02T03:04:05Z'),
  });
  expect(created).toBe(path.join(migrationsDir, '20300102030405_add_demo_widgets', 'migration.sql'));
  expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS "demo"');
  expect(sql).toContain('CREATE TABLE "demo"."widget"');
  // Only the new schema: the existing ones are already in step with their migrations.
  expect(sql).not.toMatch(/"(bus|ipam)"/);
  expect(readFileSync(created!, 'utf8')).toBe(sql!.endsWith('\n') ? sql : `${sql}\n`);

  // Now in step: nothing more to create.
  expect(await createMigration({ name: 'again', schemaDir, migrationsDir })).toEqual({});
});

test('migration folder names sort after the existing ones', () => {
  const at = new Date('2030-01-02T03:04:05Z');
  expect(nextMigrationName([], 'init bus', at)).toBe('20300102030405_init_bus');
  expect(nextMigrationName(['20300102030405_a'], 'b', at)).toBe('20300102030406_b');
  expect(nextMigrationName(['20990101000000_future'], 'late', at)).toBe('20990101000001_late');
  expect(() => nextMigrationName([], '!!!', at)).toThrow();
});
