/** The local test rig's connection details (deploy/local/.env, written by `npm run stack:up`). */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import pg from 'pg';
import { loadEnvFile, parseEnvFile } from '@testbed/kit';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** The rig's variables (deploy/local/.env, written by `npm run stack:up`); fails clearly without it. */
export function rigEnv(...required: string[]): Record<string, string> {
  loadEnvFile(RIG_ENV_FILE);
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

export const RIG_ENV_FILE = path.join(repoRoot, 'deploy', 'local', '.env');

export type RigEnv = Record<string, string>;

/** The rig's .env as a record (not merged into process.env). Throws a clear error when the file is missing. */
export function loadRigEnv(file = RIG_ENV_FILE): RigEnv {
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: start the local test rig first with \`npm run stack:up\``);
  }
  return parseEnvFile(fs.readFileSync(file, 'utf8'));
}

/** A key that must be present in the rig's .env. */
export function required(env: RigEnv, key: string): string {
  const value = env[key];
  if (!value) throw new Error(`${RIG_ENV_FILE} has no ${key}: run \`npm run stack:up\` again`);
  return value;
}

/** The testbed node names (node1, node2, ...). */
export function rigNodes(env: RigEnv): string[] {
  return required(env, 'TESTBED_NODES').split(',');
}

/** Host and port of a node's TLS endpoint (tcp://127.0.0.1:2376N). */
export function nodeEndpoint(env: RigEnv, node: string): { host: string; port: number } {
  const url = new URL(required(env, `${node.toUpperCase()}_DOCKER_HOST`).replace(/^tcp:/, 'https:'));
  return { host: url.hostname, port: Number(url.port) };
}

export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function tlsFiles(env: RigEnv): TlsFiles {
  return {
    ca: fs.readFileSync(required(env, 'DOCKER_TLS_CA')),
    cert: fs.readFileSync(required(env, 'DOCKER_TLS_CERT')),
    key: fs.readFileSync(required(env, 'DOCKER_TLS_KEY')),
  };
}

/** dockerode client for a node over TLS with the platform's client certificate. */
export function nodeDocker(env: RigEnv, node: string): Docker {
  const { host, port } = nodeEndpoint(env, node);
  return new Docker({ protocol: 'https', host, port, ...tlsFiles(env), timeout: 30_000 });
}
