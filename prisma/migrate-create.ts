/**
 * `npm run db:migrate:create <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql
 * with what the schema files (prisma/schema/*.prisma) add to the existing migrations. Offline,
 * no database server: the existing migrations are replayed into an in-memory PGlite.
 */
import path from 'node:path';
import { createMigration } from '../services/kit/src/db';

async function main(): Promise<void> {
  const name = process.argv.slice(2).join('_');
  if (!name) throw new Error('usage: npm run db:migrate:create <name>');
  const { created } = await createMigration({ name });
  if (created)
    console.log(`created ${path.relative(process.cwd(), created)}: review it, then npm run db:migrate`);
  else console.log('the schema matches the migrations: no migration created');
}

main().catch((err: unknown) => {
  console.error(`db:migrate:create failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
