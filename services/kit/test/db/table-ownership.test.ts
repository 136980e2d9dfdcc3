/**
 * Each service's database sees its own schema and the bus's only: on PGlite and on the rig's
 * Postgres, through Prisma's models, its raw queries, the pg pool and PGlite's own API.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  migrateDatabase,
  openDatabase,
  PLATFORM_SCHEMAS,
  scopeDatabase,
  schemasNamedIn,
  TableOwnershipError,
  type Database,
} from '../../src/db';
import { defaultMigrationsDir } from '../../src/db/migrations-dir';
import { freshPostgresDatabase } from '@testbed/test-support/rig';
import { insertOutboxRow, outboxCount } from './fixtures';

jest.setTimeout(60_000);

test('the platform schemas are those the migrations create', () => {
  const created = new Set<string>();
  for (const dir of readdirSync(defaultMigrationsDir, { withFileTypes: true }).filter((d) =>
    d.isDirectory(),
  )) {
    const sql = readFileSync(path.join(defaultMigrationsDir, dir.name, 'migration.sql'), 'utf8');
    for (const m of sql.matchAll(/CREATE SCHEMA (?:IF NOT EXISTS )?"?(\w+)"?/g)) created.add(m[1]!);
  }
  expect([...created].sort()).toEqual([...PLATFORM_SCHEMAS].sort());
});

test('schema names are read from the SQL, not from its literals or comments', () => {
  expect([...schemasNamedIn('SELECT * FROM quota.node n JOIN "ipam"."pool" p ON n.x = p.x')]).toEqual([
    'quota',
    'ipam',
  ]);
  expect([
    ...schemasNamedIn(`SELECT 'quota.reserve.requested' -- ipam.pool\n FROM stats.container c`),
  ]).toEqual(['stats']);
  expect([
    ...schemasNamedIn('INSERT INTO stats.container AS c VALUES (1) ON CONFLICT DO UPDATE SET x = excluded.x'),
  ]).toEqual(['stats']);
});

describe.each(['pglite', 'postgres'] as const)('on %s', (kind) => {
  let db: Database;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    let url = 'pglite://memory';
    if (kind === 'postgres') {
      const fresh = await freshPostgresDatabase('kit_ownership');
      url = fresh.url;
      drop = fresh.drop;
    }
    db = await openDatabase({ url });
    await migrateDatabase({ database: db });
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  test('its own models, raw SQL on its schema and the bus tables work', async () => {
    const ipam = scopeDatabase(db, 'ipam');
    expect(await ipam.prisma.pool.findMany()).toEqual([]);
    expect(await ipam.prisma.$queryRaw`SELECT count(*)::int AS n FROM ipam.allocation`).toEqual([{ n: 0 }]);
    await ipam.prisma.$transaction(async (tx) => {
      await tx.pool.count();
      await insertOutboxRow(tx, 'ipam');
    });
    expect(await outboxCount(ipam.prisma)).toBe(1);
  });

  test('another schema is refused through models, transactions and raw SQL', async () => {
    const ipam = scopeDatabase(db, 'ipam');
    expect(() => ipam.prisma.container).toThrow(TableOwnershipError);
    await expect(ipam.prisma.$transaction(async (tx) => tx.quotaUser.findMany())).rejects.toThrow(
      /ipam may use only its own schema, bus and audit: model 'quotaUser' belongs to schema 'quota'/,
    );
    await expect(
      Promise.resolve().then(() => ipam.prisma.$queryRaw`SELECT * FROM provisioning.node`),
    ).rejects.toThrow(/schema 'provisioning'/);
    await expect(
      Promise.resolve().then(() => ipam.prisma.$executeRawUnsafe('DELETE FROM "quota"."user"')),
    ).rejects.toThrow(TableOwnershipError);
  });

  test('a raw-SQL service (stats) reaches its schema and the bus through the driver, nothing else', async () => {
    const stats = scopeDatabase(db, 'stats');
    if (kind === 'postgres') {
      const pool = stats.pgPool!;
      expect((await pool.query('SELECT count(*)::int AS n FROM bus.outbox')).rows).toHaveLength(1);
      await expect(Promise.resolve().then(() => pool.query('SELECT * FROM ipam.pool'))).rejects.toThrow(
        TableOwnershipError,
      );
      const client = await pool.connect();
      try {
        expect(() => client.query('SELECT * FROM quota.user')).toThrow(TableOwnershipError);
        await client.query('SELECT 1 FROM stats.container LIMIT 1').catch(() => undefined);
      } finally {
        client.release();
      }
    } else {
      const pglite = stats.pglite!;
      expect((await pglite.query('SELECT count(*)::int AS n FROM bus.outbox')).rows).toHaveLength(1);
      expect(() => pglite.query('SELECT * FROM provisioning.container')).toThrow(TableOwnershipError);
      await expect(pglite.transaction(async (tx) => tx.query('SELECT * FROM quota.node'))).rejects.toThrow(
        TableOwnershipError,
      );
    }
  });
});
