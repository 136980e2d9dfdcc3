import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, loadOrCreateLocalKey, signLocalToken, type Bus, type Role } from '@testbed/kit';
import { embeddedConfigSchema } from '../../../services/embedded/src/config';
import { startEmbedded, type EmbeddedPlatform } from '../../../services/embedded/src/start-embedded';
import { createNodeAgent, dockerFromHost, type NodeAgent } from '../../../services/node-agent/src';
import { NodeDocker } from '../../../services/provisioning/src/docker/node-docker';
import { rigEndpoint, testPlatform } from '@testbed/test-support/fixtures/provisioning';
import { freshPostgresDatabase, repoRoot, rigEnv } from '../../support/rig';

export interface PortalPlatform {
  url: string;
  platformId: string;
  /** The platform's data folder (its local signing key). */
  dataDir: string;
  bus: Bus;
  nodes: string[];
  dockers: Record<string, NodeDocker>;
  /** A token of the platform's local key (the API calls tests make beside the browser). */
  token(user: string, role: Role): Promise<string>;
  call(user: string, role: Role, pathname: string, init?: RequestInit): Promise<Response>;
  /** Removes every container of this platform from the rig's daemons, then stops everything. */
  stop(): Promise<void>;
}

export interface PortalPlatformOptions {
  name: string;
  /** IPAM_EXPERIMENT_RANGE: addresses of this test file alone (no other test file uses them). */
  range: string;
  /** IPAM_SECONDARY_RANGE: the same for second interfaces. */
  secondaryRange: string;
  nodes: string[];
  /** Run a node agent per node into the platform's stats ingest (the live stream and history). */
  agents?: boolean;
  /** More configuration, e.g. an identity provider instead of the local key (AUTH_JWKS_URL, AUTH_ISSUER). */
  env?: Record<string, string>;
  /** Tokens for the test's own API calls; default the platform's local key (not trusted with an identity provider). */
  tokenFor?: (user: string, role: Role) => Promise<string>;
}

const portalDir = path.join(repoRoot, 'services', 'portal');

/** `npm run build:portal` when dist is missing or older than the sources; what `npm start` does first. */
export function ensurePortalBuilt(): void {
  const r = spawnSync(
    path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
    [path.join(portalDir, 'scripts', 'build.ts'), '--if-stale'],
    { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 },
  );
  if (r.status !== 0) throw new Error(`building the portal failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  process.stdout.write(r.stdout);
}

/**
 * The embedded default's composition (startEmbedded) on port 0, on a fresh database on the rig's
 * Postgres, with the rig's TLS nodes registered through the API as an operator does, the local
 * node off, this file's own address ranges and platform label, and (optionally) a node agent per
 * node sampling the rig's real cgroups into the stats ingest.
 */
export async function startPortalPlatform(opts: PortalPlatformOptions): Promise<PortalPlatform> {
  ensurePortalBuilt();
  const env = rigEnv('DATABASE_URL', 'TESTBED_NODES');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name}-`));
  const db = await freshPostgresDatabase(opts.name.replace(/\W/g, '_'));
  const platformId = testPlatform();
  const config = embeddedConfigSchema.parse({
    PORT: '0',
    LISTEN_HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PROVISIONING_LOCAL_NODE: 'false',
    PROVISIONING_PLATFORM_ID: platformId,
    PROVISIONING_HELPER_IMAGE: 'testbed/busybox',
    PROVISIONING_HEALTH_INTERVAL_MS: '2000',
    IPAM_EXPERIMENT_RANGE: opts.range,
    IPAM_SECONDARY_RANGE: opts.secondaryRange,
    QUOTA_KNOWN_NODES: '',
    QUOTA_MAX_CONTAINERS: '40',
    QUOTA_MAX_CPU_MILLIS: '20000',
    QUOTA_MAX_ADDRESSES: '60',
    ...opts.env,
  });
  const logger = createLogger({ name: opts.name, level: config.LOG_LEVEL });
  let platform: EmbeddedPlatform;
  try {
    platform = await startEmbedded(config, { logger });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const url = platform.host.url;
  const key = await loadOrCreateLocalKey(dataDir);
  const token =
    opts.tokenFor ??
    ((user: string, role: Role = 'user') =>
      signLocalToken(key, {
        subject: user,
        role,
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
      }));
  const call = async (user: string, role: Role, pathname: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${await token(user, role)}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(url + pathname, { ...init, headers });
  };

  const dockers = Object.fromEntries(opts.nodes.map((n) => [n, new NodeDocker(rigEndpoint(n), 30_000)]));
  for (const n of opts.nodes) {
    const e = rigEndpoint(n);
    const res = await call('operator', 'operator', '/v1/nodes', {
      method: 'POST',
      body: JSON.stringify({ name: n, dockerHost: e.dockerHost, tls: e.tls, macvlanParent: e.macvlanParent }),
    });
    if (res.status !== 201) throw new Error(`registering ${n}: ${res.status} ${await res.text()}`);
  }
  // Quota learns the nodes from provisioning's events; reservations need them known (bounded wait).
  await until(
    async () => {
      for (const n of opts.nodes) {
        const r = await call('operator', 'operator', `/v1/nodes/${n}/availability`);
        if (r.status !== 200) return false;
      }
      return true;
    },
    60_000,
    `quota to learn ${opts.nodes.join(', ')}`,
  );
  await until(
    async () => {
      const r = (await (await call('operator', 'operator', '/v1/nodes')).json()) as {
        items: { name: string; health: { state: string } }[];
      };
      return opts.nodes.every((n) => r.items.find((i) => i.name === n)?.health.state === 'up');
    },
    60_000,
    'the nodes to be up',
  );

  const agents: NodeAgent[] = [];
  if (opts.agents) {
    for (const n of opts.nodes) {
      const up = n.toUpperCase();
      const agent = createNodeAgent({
        node: n,
        sink: platform.bus.records,
        docker: dockerFromHost(`unix://${env[`${up}_DOCKER_SOCKET`]}`),
        cgroupParent: env[`${up}_CGROUP_PARENT`],
        logger: logger.child({ agent: n }),
      });
      await agent.start();
      agents.push(agent);
    }
  }

  return {
    url,
    platformId,
    dataDir,
    bus: platform.bus,
    nodes: opts.nodes,
    dockers,
    token,
    call,
    async stop() {
      for (const a of agents) await a.stop({ flushTimeoutMs: 1000 }).catch(() => undefined);
      for (const d of Object.values(dockers))
        for (const c of await d.listOwned(platformId).catch(() => []))
          // A removal the platform itself already started is as good as ours.
          await d.remove(c.dockerId, true).catch(() => undefined);
      await platform.host.stop();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `probe` is true or `ms` pass (every wait bounded). */
export async function until(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
