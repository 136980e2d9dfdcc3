import { ConflictError, enqueueEvent, InvalidError, NotFoundError, type Tx } from '@testbed/kit';
import { checkEndpoint } from '../docker/node-client';
import { poolNetworks } from '../config';
import { PROVISIONING_EVENTS, provisioningEventTypes } from '../events/contracts';
import {
  deleteNode,
  findNode,
  listNodes,
  updateNode,
  upsertNode,
  insertNode,
  type NodeInput,
  type NodeRecord,
} from '../store/node-store';
import { liveContainersOfNode } from '../store/container-store';
import { inTransaction, type ProvisioningContext } from './context';

export interface NodeRegistration {
  name: string;
  dockerHost: string;
  tls?: { secretRef?: string; caPath?: string; certPath?: string; keyPath?: string };
  insecure?: boolean;
  macvlanParent?: string | null;
  experimentPool?: string;
  secondaryPool?: string;
  labels?: Record<string, string>;
  schedulable?: boolean;
}

function toInput(r: NodeRegistration): NodeInput {
  const tls = r.tls;
  if (tls && !tls.secretRef && !(tls.caPath && tls.certPath && tls.keyPath)) {
    throw InvalidError.field('tls', 'give secretRef, or caPath, certPath and keyPath');
  }
  const input: NodeInput = {
    name: r.name,
    dockerHost: r.dockerHost,
    tlsCaPath: tls?.caPath ?? null,
    tlsCertPath: tls?.certPath ?? null,
    tlsKeyPath: tls?.keyPath ?? null,
    tlsSecretRef: tls?.secretRef ?? null,
    insecure: r.insecure ?? false,
    macvlanParent: r.macvlanParent ?? null,
    experimentPool: r.experimentPool ?? 'experiment',
    secondaryPool: r.secondaryPool ?? 'secondary',
    labels: r.labels ?? {},
    schedulable: r.schedulable ?? true,
  };
  checkEndpoint({
    name: r.name,
    dockerHost: r.dockerHost,
    ...(tls ? { tls: { caPath: '', certPath: '', keyPath: '' } } : {}),
    insecure: input.insecure,
  });
  return input;
}

async function announce(ctx: ProvisioningContext, tx: Tx, type: string, name: string): Promise<void> {
  await enqueueEvent(tx, {
    source: ctx.source,
    topic: PROVISIONING_EVENTS,
    key: name,
    type,
    subject: name,
    data: { name },
    time: ctx.clock.now(),
  });
}

export async function registerNode(ctx: ProvisioningContext, r: NodeRegistration): Promise<NodeRecord> {
  const input = toInput(r);
  return ctx.db.prisma.$transaction(async (tx) => {
    if (await findNode(tx, r.name))
      throw new ConflictError(`node '${r.name}' is already registered`, { node: r.name });
    const node = await insertNode(tx, input);
    await announce(ctx, tx, provisioningEventTypes.nodeRegistered, node.name);
    return node;
  });
}

/** Registration from configuration: the record follows the configuration on every start. */
export async function registerNodeFromConfig(
  ctx: ProvisioningContext,
  r: NodeRegistration,
): Promise<NodeRecord> {
  const input = toInput(r);
  return ctx.db.prisma.$transaction(async (tx) => {
    const node = await upsertNode(tx, input);
    await announce(ctx, tx, provisioningEventTypes.nodeRegistered, node.name);
    return node;
  });
}

export async function getNode(ctx: ProvisioningContext, name: string, outer?: Tx): Promise<NodeRecord> {
  const node = await inTransaction(ctx, outer, (tx) => findNode(tx, name));
  if (!node) throw new NotFoundError('node', name);
  return node;
}

export const allNodes = (ctx: ProvisioningContext) => ctx.db.prisma.$transaction((tx) => listNodes(tx));

export async function changeNode(
  ctx: ProvisioningContext,
  name: string,
  patch: { schedulable?: boolean; labels?: Record<string, string> },
): Promise<NodeRecord> {
  return ctx.db.prisma.$transaction(async (tx) => {
    if (!(await findNode(tx, name))) throw new NotFoundError('node', name);
    return updateNode(tx, name, patch);
  });
}

export async function removeNode(ctx: ProvisioningContext, name: string): Promise<void> {
  await ctx.db.prisma.$transaction(async (tx) => {
    if (!(await findNode(tx, name))) throw new NotFoundError('node', name);
    const live = await liveContainersOfNode(tx, name);
    if (live.length > 0) {
      throw new ConflictError(`node '${name}' still has ${live.length} container(s)`, {
        node: name,
        containers: live.length,
      });
    }
    await deleteNode(tx, name);
    await announce(ctx, tx, provisioningEventTypes.nodeRemoved, name);
  });
}

/** The node's experiment network on its daemon, created from the pool's subnet when missing. */
export async function ensureNodeNetwork(ctx: ProvisioningContext, node: NodeRecord): Promise<string> {
  if (node.networkName) return node.networkName;
  const net = poolNetworks(ctx.config).get(node.experimentPool);
  if (!net)
    throw InvalidError.field(
      'experimentPool',
      `no network settings for pool '${node.experimentPool}' in PROVISIONING_POOL_NETWORKS`,
    );
  const name = await ctx.dockers.for(node).ensureNetwork({
    name: ctx.config.PROVISIONING_NETWORK_NAME,
    ...(node.macvlanParent ? { parent: node.macvlanParent } : {}),
    subnet: net.subnet,
    ...(net.gateway ? { gateway: net.gateway } : {}),
    platform: ctx.config.PROVISIONING_PLATFORM_ID,
  });
  await ctx.db.prisma.$transaction((tx) => updateNode(tx, node.name, { networkName: name }));
  return name;
}

/** One health pass: ping and version of every node; the network is ensured once a node answers. */
export async function checkNodesHealth(ctx: ProvisioningContext): Promise<void> {
  const nodes = await allNodes(ctx);
  await Promise.all(
    nodes.map(async (node) => {
      try {
        const h = await ctx.dockers.for(node).health();
        await ctx.db.prisma.$transaction((tx) =>
          updateNode(tx, node.name, {
            healthState: 'up',
            healthError: null,
            lastSeenAt: ctx.clock.now(),
            dockerVersion: h.version,
            cpuCount: h.cpus,
            memoryBytes: BigInt(h.memoryBytes),
          }),
        );
        if (!node.networkName) await ensureNodeNetwork(ctx, node);
      } catch (err) {
        await ctx.db.prisma.$transaction((tx) =>
          updateNode(tx, node.name, {
            healthState: 'down',
            healthError: err instanceof Error ? err.message : String(err),
          }),
        );
      }
    }),
  );
}

/** TESTBED_NODES with NODEn_DOCKER_HOST, NODEn_MACVLAN_PARENT and the shared DOCKER_TLS_* files. */
export function nodesFromEnv(env: NodeJS.ProcessEnv): NodeRegistration[] {
  const names = (env.TESTBED_NODES ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return names.map((name) => {
    const up = name.toUpperCase();
    const dockerHost = env[`${up}_DOCKER_HOST`];
    if (!dockerHost) throw new Error(`TESTBED_NODES names ${name} but ${up}_DOCKER_HOST is not set`);
    const tls =
      env.DOCKER_TLS_CA && env.DOCKER_TLS_CERT && env.DOCKER_TLS_KEY
        ? { caPath: env.DOCKER_TLS_CA, certPath: env.DOCKER_TLS_CERT, keyPath: env.DOCKER_TLS_KEY }
        : undefined;
    return { name, dockerHost, ...(tls ? { tls } : {}), macvlanParent: env[`${up}_MACVLAN_PARENT`] ?? null };
  });
}
