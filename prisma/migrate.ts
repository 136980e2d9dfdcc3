/**
 * `npm run db:migrate`: applies pending migrations to DATABASE_URL (the environment, else
 * deploy/local/.env from `npm run stack:up`). Also the command of the Helm migration Job.
 */
import { migrateDatabase, redactUrl, resolveDatabaseUrl } from '../services/kit/src/db';
import { repoRoot } from '../services/kit/src/db/migrations-dir';

async function main(): Promise<void> {
  const url = resolveDatabaseUrl({ repoRoot });
  if (!url)
    throw new Error('DATABASE_URL is not set and deploy/local/.env has none (npm run stack:up writes it)');
  const started = Date.now();
  const { applied } = await migrateDatabase({ url });
  const where = redactUrl(url);
  if (applied.length === 0) console.log(`${where}: up to date, nothing applied (${Date.now() - started} ms)`);
  else
    console.log(
      `${where}: applied ${applied.length} migration(s) in ${Date.now() - started} ms:\n  ${applied.join('\n  ')}`,
    );
}

main().catch((err: unknown) => {
  console.error(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
