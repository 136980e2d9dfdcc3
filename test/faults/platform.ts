/**
 * The platform a fault test breaks: ipam and quota (and provisioning unless it runs as processes
 * of its own) composed in this process the way the hosts compose them, on a database and Kafka
 * brokers the test chooses (a private Postgres or Kafka for the fault that restarts it), with one
 * private Docker daemon as the only node. Each fault file has a subnet of its own (10.66.N.0/24,
 * used by no other test; its containers sit on a veth pair of the test's own, and nothing is ever
 * sent to their addresses).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { Registry } from 'prom-client';
import {
  createKafkaBus,
  createKeyAuthenticator,
  createLogger,
  loadOrCreateLocalKey,
  migrateDatabase,
  openDatabase,
  runHost,
  signLocalToken,
  systemClock,
  type Bus,
  type Database,
  type Role,
  type RunningHost,
  type ServiceModule,
  type Subscription,
} from '@testbed/kit';
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig } from '@testbed/quota';
import {
  createProvisioningService,
  defaultProvisioningConfig,
  type ProvisioningConfig,
} from '@testbed/provisioning';
import { eventually } from '@testbed/test-support/wait';

export const USER = 'faulty';
export const COUNT = 20;
const verify = { issuer: 'testbed-local', audience: 'testbed' };

/** A fault file's subnet: 10.66.<n>.0/24, gateway .1, the batch from .10. */
export function faultSubnet(n: number) {
  return {
    cidr: `10.66.${n}.0/24`,
    gateway: `10.66.${n}.1`,
    range: `10.66.${n}.10-10.66.${n}.49`,
    baseIp: `10.66.${n}.10`,
  };
}
export type FaultSubnet = ReturnType<typeof faultSubnet>;

/** Provisioning's settings in every fault test: a dead worker's claim is taken over after 3 s. */
export function provisioningSettings(subnet: FaultSubnet, platformId: string): Partial<ProvisioningConfig> {
  return {
    PROVISIONING_PLATFORM_ID: platformId,
    PROVISIONING_POOL_NETWORKS: {
      ...defaultProvisioningConfig.PROVISIONING_POOL_NETWORKS,
      experiment: { subnet: subnet.cidr, gateway: subnet.gateway },
    },
    PROVISIONING_CLAIM_STALE_MS: 3000,
    PROVISIONING_RESUME_INTERVAL_MS: 1000,
    PROVISIONING_RECONCILE_INTERVAL_MS: 2000,
    PROVISIONING_HEALTH_INTERVAL_MS: 1000,
    // One at a time: a batch of 20 takes several seconds, long enough to break it in its middle.
    PROVISIONING_PARALLELISM_PER_NODE: 1,
  };
}

/** The same settings as a standalone process reads them. */
export function provisioningEnv(subnet: FaultSubnet, platformId: string): Record<string, string> {
  return {
    PROVISIONING_PLATFORM_ID: platformId,
    PROVISIONING_POOL_NETWORKS: `experiment=${subnet.cidr}@${subnet.gateway},secondary=172.10.0.0/24@172.10.0.1`,
    PROVISIONING_CLAIM_STALE_MS: '3000',
    PROVISIONING_RESUME_INTERVAL_MS: '1000',
    PROVISIONING_RECONCILE_INTERVAL_MS: '2000',
    PROVISIONING_HEALTH_INTERVAL_MS: '1000',
    PROVISIONING_PARALLELISM_PER_NODE: '1',
  };
}

export interface FaultPlatform {
  url: string;
  db: Database;
  bus: Bus;
  host: RunningHost;
  /** Holds the signing key (a standalone process given this DATA_DIR accepts the same tokens). */
  dataDir: string;
  modules: ServiceModule[];
  call(subject: string, role: Role, pathname: string, init?: RequestInit): Promise<Response>;
  token(subject: string, role?: Role): Promise<string>;
  stop(): Promise<void>;
}

export async function startFaultPlatform(opts: {
  name: string;
  databaseUrl: string;
  brokers: string[];
  namespace: string;
  subnet: FaultSubnet;
  platformId: string;
  /** Compose provisioning here too (false: it runs as processes of its own). */
  provisioning: boolean;
  /** Outbox rows this host relays (default: all). */
  sources?: string[];
  dataDir?: string;
}): Promise<FaultPlatform> {
  const logger = createLogger({ name: opts.name, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name}-`));
  const db = await openDatabase({ url: opts.databaseUrl });
  await migrateDatabase({ database: db });
  const metrics = new Registry();
  const bus = createKafkaBus({
    brokers: opts.brokers,
    clientId: `${opts.name}-${path.basename(dataDir)}`,
    namespace: opts.namespace,
    db,
    logger,
    metrics,
    ...(opts.sources ? { sources: opts.sources } : {}),
  });
  const key = await loadOrCreateLocalKey(dataDir);
  const deps = { db, bus, logger, metrics, clock: systemClock };
  const modules: ServiceModule[] = [
    createIpamService({
      ...deps,
      source: 'ipam',
      config: {
        ...defaultIpamConfig,
        IPAM_EXPERIMENT_CIDR: opts.subnet.cidr,
        IPAM_EXPERIMENT_GATEWAY: opts.subnet.gateway,
        IPAM_EXPERIMENT_RANGE: opts.subnet.range,
        IPAM_JANITOR_INTERVAL_MS: 1000,
      },
    }),
    createQuotaService({
      ...deps,
      source: 'quota',
      config: {
        ...defaultQuotaConfig,
        QUOTA_ENFORCE_RESERVATIONS: false,
        QUOTA_MAX_CONTAINERS: COUNT + 10,
        QUOTA_MAX_ADDRESSES: COUNT + 10,
      },
    }),
    ...(opts.provisioning
      ? [
          createProvisioningService({
            ...deps,
            source: 'provisioning',
            config: {
              ...defaultProvisioningConfig,
              ...provisioningSettings(opts.subnet, opts.platformId),
            },
          }),
        ]
      : []),
  ];
  const host = await runHost({
    name: opts.name,
    port: 0,
    listenHost: '127.0.0.1',
    logger,
    metrics,
    authenticator: createKeyAuthenticator(key.publicKey, verify),
    open: async () => ({ db, bus, modules }),
    clock: systemClock,
  });
  const token = (subject: string, role: Role = 'user') => signLocalToken(key, { subject, role, ...verify });
  return {
    url: host.url,
    db,
    bus,
    host,
    dataDir,
    modules,
    token,
    async call(subject, role, pathname, init = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${await token(subject, role)}`);
      if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(host.url + pathname, { ...init, headers, signal: AbortSignal.timeout(30_000) });
    },
    async stop() {
      await host.stop();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every consumer subscribed to each topic, as the services declare them (provisioning's included). */
export function consumersByTopic(modules: ServiceModule[]): Map<string, string[]> {
  const byTopic = new Map<string, string[]>();
  const subs: Subscription[] = modules.flatMap((m) => m.subscriptions ?? []);
  for (const s of subs)
    for (const t of s.topics) byTopic.set(t, [...new Set([...(byTopic.get(t) ?? []), s.consumer])]);
  return byTopic;
}

/** provisioning's subscriptions when it runs as processes (its module built here only to read them). */
export function provisioningModuleForSubscriptions(platform: FaultPlatform): ServiceModule {
  return createProvisioningService({
    db: platform.db,
    bus: platform.bus,
    logger: createLogger({ name: 'subscriptions', level: 'silent' }),
    metrics: new Registry(),
    clock: systemClock,
    source: 'provisioning',
    config: defaultProvisioningConfig,
  });
}

/** Registers the private daemon as node `name` through the API (an operator's call) and waits for quota. */
export async function registerNode(
  platform: FaultPlatform,
  node: { name: string; dockerHost: string; macvlanParent: string },
): Promise<void> {
  const res = await platform.call('operator', 'operator', '/v1/nodes', {
    method: 'POST',
    body: JSON.stringify(node),
  });
  if (res.status !== 201) throw new Error(`registering ${node.name}: ${res.status} ${await res.text()}`);
  await waitForQuotaNode(platform, node.name);
}

export async function waitForQuotaNode(platform: FaultPlatform, name: string): Promise<void> {
  await eventually(
    async () =>
      (
        await platform.db.prisma.$queryRaw<
          { name: string }[]
        >`SELECT name FROM quota.node WHERE name = ${name}`
      ).length === 1,
    60_000,
    `quota to learn node ${name}`,
  );
}

export interface BatchRequest {
  prefix: string;
  node: string;
  subnet: FaultSubnet;
}

/** POST /v1/batches of COUNT testbed/busybox containers on the one node, at `url` (a host or a process). */
export async function startBatch(
  platform: FaultPlatform,
  req: BatchRequest,
  url: string = platform.url,
): Promise<{ id: string }> {
  const res = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await platform.token(USER)}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      namePrefix: req.prefix,
      count: COUNT,
      image: 'testbed/busybox',
      nodes: [req.node],
      baseIp: req.subnet.baseIp,
      placement: 'spread',
    }),
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 202) throw new Error(`POST /v1/batches: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** Containers of the platform label on the daemon that exist and run (the batch's progress). */
export async function runningOnNode(
  docker: Docker,
  platformId: string,
): Promise<{ all: number; running: number }> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`testbed.platform=${platformId}`] },
  });
  return { all: list.length, running: list.filter((c) => c.State === 'running').length };
}

/** Waits until the batch is under way on the daemon (some containers running, not all made). */
export async function waitMidway(
  docker: Docker,
  platformId: string,
  atLeast = 3,
): Promise<{ all: number; running: number }> {
  return eventually(
    async () => {
      const n = await runningOnNode(docker, platformId);
      if (n.all >= COUNT) throw new Error('the batch finished before the fault');
      return n.running >= atLeast ? n : undefined;
    },
    120_000,
    'the batch to be under way on the daemon',
  );
}

/** Seconds since `t0`, one decimal. */
export const secondsSince = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);
