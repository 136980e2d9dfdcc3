import {
  ConflictError,
  InvalidError,
  inTransaction,
  recordAudit,
  NotFoundError,
  actsForOthers,
  type Principal,
  type Tx,
} from '@testbed/kit';
import { checkEndpoint } from '../docker/node-client';
import { LABELS } from '../docker/container-spec';
import type { NodeRegistration } from '../domain/node-registration';
import { announceNode } from '../events/emit';
import { provisioningEventTypes } from '../events/contracts';
import {
  deleteNode,
  findNode,
  insertNode,
  listNodes,
  updateNode,
  upsertNode,
  useByNode,
  type NodeInput,
  type NodeRecord,
  type NodeUse,
} from '../store/node-store';
import { liveContainersOfNode } from '../store/container-store';
import type { ProvisioningContext } from '../context';

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

export async function registerNode(ctx: ProvisioningContext, r: NodeRegistration): Promise<NodeRecord> {
  const input = toInput(r);
  return inTransaction(ctx.db, async ({ tx }) => {
    if (await findNode(tx, r.name))
      throw new ConflictError(`node '${r.name}' is already registered`, { node: r.name });
    const node = await insertNode(tx, input);
    await announceNode(ctx, tx, provisioningEventTypes.nodeRegistered, node.name);
    await recordAudit(tx, { targetId: node.name, details: { dockerHost: node.dockerHost } });
    return node;
  });
}

/** Registration from configuration: the record follows the configuration on every start. */
export async function registerNodeFromConfig(
  ctx: ProvisioningContext,
  r: NodeRegistration,
): Promise<NodeRecord> {
  const input = toInput(r);
  return inTransaction(ctx.db, async ({ tx }) => {
    const node = await upsertNode(tx, input);
    await announceNode(ctx, tx, provisioningEventTypes.nodeRegistered, node.name);
    return node;
  });
}

/** The local daemon (DOCKER_HOST or the default socket) as node `local`, when it answers. */
export async function registerLocalNode(ctx: ProvisioningContext): Promise<void> {
  const dockerHost = ctx.config.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  try {
    await ctx.dockers.forEndpoint({ name: 'local', dockerHost }, 3000).health();
    await registerNodeFromConfig(ctx, {
      name: 'local',
      dockerHost,
      macvlanParent: ctx.config.PROVISIONING_LOCAL_MACVLAN_PARENT || null,
    });
  } catch (err) {
    ctx.logger.warn(
      { err: (err as Error).message, dockerHost },
      'the local Docker daemon does not answer: no node `local`',
    );
  }
}

export async function getNode(ctx: ProvisioningContext, name: string, tx?: Tx): Promise<NodeRecord> {
  const node = tx ? await findNode(tx, name) : await inTransaction(ctx.db, ({ tx }) => findNode(tx, name));
  if (!node) throw new NotFoundError('node', name);
  return node;
}

export const allNodes = (ctx: ProvisioningContext) => inTransaction(ctx.db, ({ tx }) => listNodes(tx));

/** Nodes with what the platform's live containers on each take. */
export async function nodesWithUse(ctx: ProvisioningContext): Promise<{ node: NodeRecord; use?: NodeUse }[]> {
  return inTransaction(ctx.db, async ({ tx }) => {
    const [nodes, use] = [await listNodes(tx), await useByNode(tx)];
    return nodes.map((node) => ({ node, use: use.get(node.name) }));
  });
}

export async function nodeWithUse(
  ctx: ProvisioningContext,
  name: string,
): Promise<{ node: NodeRecord; use?: NodeUse }> {
  return inTransaction(ctx.db, async ({ tx }) => {
    const node = await getNode(ctx, name, tx);
    return { node, use: (await useByNode(tx)).get(name) };
  });
}

/** Every container on the node's daemon with its owner: all of them for operators, one's own for a user. */
export async function containersOnNode(ctx: ProvisioningContext, name: string, who: Principal) {
  const all = await ctx.dockers.for(await getNode(ctx, name)).listAll();
  return all
    .map((c) => ({
      dockerId: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      state: c.State,
      status: c.Status,
      owner: c.Labels[LABELS.owner] ?? null,
      containerId: c.Labels[LABELS.containerId] ?? null,
    }))
    .filter((c) => actsForOthers(who) || c.owner === who.subject);
}

export async function changeNode(
  ctx: ProvisioningContext,
  name: string,
  patch: { schedulable?: boolean; labels?: Record<string, string> },
): Promise<NodeRecord> {
  return inTransaction(ctx.db, async ({ tx }) => {
    if (!(await findNode(tx, name))) throw new NotFoundError('node', name);
    const node = await updateNode(tx, name, patch);
    await recordAudit(tx, { details: { ...patch } });
    return node;
  });
}

export async function removeNode(ctx: ProvisioningContext, name: string): Promise<void> {
  await inTransaction(ctx.db, async ({ tx }) => {
    if (!(await findNode(tx, name))) throw new NotFoundError('node', name);
    const live = await liveContainersOfNode(tx, name);
    if (live.length > 0) {
      throw new ConflictError(`node '${name}' still has ${live.length} container(s)`, {
        node: name,
        containers: live.length,
      });
    }
    await deleteNode(tx, name);
    await announceNode(ctx, tx, provisioningEventTypes.nodeRemoved, name);
    await recordAudit(tx, { targetId: name });
  });
}

/** The node's experiment network on its daemon, created from the pool's subnet when missing. */
export async function ensureNodeNetwork(ctx: ProvisioningContext, node: NodeRecord): Promise<string> {
  if (node.networkName) return node.networkName;
  const net = ctx.config.PROVISIONING_POOL_NETWORKS[node.experimentPool];
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
  await inTransaction(ctx.db, ({ tx }) => updateNode(tx, node.name, { networkName: name }));
  return name;
}

/** One health pass: ping and version of every node; the network is ensured once a node answers. */
export async function checkNodesHealth(ctx: ProvisioningContext): Promise<void> {
  const nodes = await allNodes(ctx);
  await Promise.all(
    nodes.map(async (node) => {
      try {
        const h = await ctx.dockers.for(node).health();
        await inTransaction(ctx.db, ({ tx }) =>
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
        await inTransaction(ctx.db, ({ tx }) =>
          updateNode(tx, node.name, {
            healthState: 'down',
            healthError: err instanceof Error ? err.message : String(err),
          }),
        );
      }
    }),
  );
}
