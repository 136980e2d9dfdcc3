import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { resolveDatabaseUrl, withDatabaseName } from '../../src/db';
import { repoRoot } from '../../src/db/migrations-dir';

/**
 * The Postgres server of the test rig: DATABASE_URL from the environment or deploy/local/.env
 * (`npm run stack:up`). Tests never touch that database itself: each makes a fresh one on the
 * same server (the role needs CREATEDB) and drops it after.
 */
export function serverUrl(): string {
  const url = resolveDatabaseUrl({ repoRoot });
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(
      'Postgres tests need a postgres:// DATABASE_URL in the environment or deploy/local/.env (npm run stack:up)',
    );
  }
  return url;
}

async function onServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'test_mig'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await onServer((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    url: withDatabaseName(serverUrl(), name),
    // FORCE: a test that failed half-way may have left connections open.
    drop: () =>
      onServer((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
