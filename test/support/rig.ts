import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { loadEnvFile } from '@testbed/kit';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** The rig's variables (deploy/local/.env, written by `npm run stack:up`); fails clearly without it. */
export function rigEnv(...required: string[]): Record<string, string> {
  loadEnvFile(path.join(repoRoot, 'deploy', 'local', '.env'));
  const missing = required.filter((k) => !process.env[k]);
  if (missing.length > 0) {
    throw new Error(`the rig is not up (missing ${missing.join(', ')}): run \`npm run stack:up\` first`);
  }
  return process.env as Record<string, string>;
}

export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * A new, empty database on the rig's Postgres for one test file, dropped afterwards, so test
 * files never see each other's rows.
 */
export async function freshPostgresDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const base = rigEnv('DATABASE_URL').DATABASE_URL as string;
  const name = `${prefix}_${randomSuffix()}`.toLowerCase();
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        // FORCE cannot end an autovacuum worker (it runs as another role): wait for it to finish.
        for (let attempt = 1; ; attempt++) {
          try {
            await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
            return;
          } catch (err) {
            if ((err as { code?: string }).code !== '42501' || attempt >= 40) throw err;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      } finally {
        await c.end();
      }
    },
  };
}
