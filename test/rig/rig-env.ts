/**
 * The local test rig's connection details, read from deploy/local/.env (written by
 * `npm run stack:up`). Shared by the rig's tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';

export const RIG_ENV_FILE = path.resolve(__dirname, '../../deploy/local/.env');

export type RigEnv = Record<string, string>;

/** Parses KEY=value lines (no quotes, # comments). Throws a clear error when the file is missing. */
export function loadRigEnv(file = RIG_ENV_FILE): RigEnv {
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: start the local test rig first with \`npm run stack:up\``);
  }
  const env: RigEnv = {};
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return env;
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
