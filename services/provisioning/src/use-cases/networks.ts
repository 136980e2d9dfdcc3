import {
  ConflictError,
  InvalidError,
  inTransaction,
  recordAudit,
  NotFoundError,
  actsForOthers,
  type Principal,
} from '@testbed/kit';
import { findNode } from '../store/node-store';
import {
  containersOnNetwork,
  deleteNetwork,
  findNetwork,
  insertNetwork,
  listNetworks,
  type NetworkRecord,
} from '../store/network-store';
import type { ProvisioningContext } from '../context';

/** A user's network is theirs alone (as their containers are); operators and services see every one. */
export const mayUseNetwork = (net: NetworkRecord, who: Principal) =>
  net.owner === who.subject || actsForOthers(who);

export const allNetworks = async (ctx: ProvisioningContext, who: Principal) =>
  (await inTransaction(ctx.db, ({ tx }) => listNetworks(tx))).filter((n) => mayUseNetwork(n, who));

/** Another user's network is answered as one that does not exist: its name is not theirs to learn. */
export async function getNetwork(
  ctx: ProvisioningContext,
  name: string,
  who: Principal,
): Promise<NetworkRecord> {
  const net = await inTransaction(ctx.db, ({ tx }) => findNetwork(tx, name));
  if (!net || !mayUseNetwork(net, who)) throw new NotFoundError('network', name);
  return net;
}

/**
 * User-defined secondary networks: an internal bridge of that name on each chosen node, its
 * addresses from an ipam pool with its own subnet (Docker refuses two networks of one subnet on a
 * daemon, so the node's own secondary pool cannot serve one).
 */
export async function createNetwork(
  ctx: ProvisioningContext,
  owner: string,
  input: { name: string; pool: string; nodes: string[] },
): Promise<NetworkRecord> {
  const net = ctx.config.PROVISIONING_POOL_NETWORKS[input.pool];
  if (!net)
    throw InvalidError.field(
      'body.pool',
      `no network settings for pool '${input.pool}' in PROVISIONING_POOL_NETWORKS`,
    );
  const reserved = new Set([
    ctx.config.PROVISIONING_NETWORK_NAME,
    ctx.config.PROVISIONING_SECONDARY_NETWORK_NAME,
  ]);
  if (reserved.has(input.name))
    throw InvalidError.field('body.name', `'${input.name}' is the platform's own network`);
  const nodes = await inTransaction(ctx.db, async ({ tx }) => {
    if (await findNetwork(tx, input.name))
      throw new ConflictError(`network '${input.name}' exists`, { network: input.name });
    const found = [];
    for (const name of new Set(input.nodes)) {
      const node = await findNode(tx, name);
      if (!node) throw InvalidError.field('body.nodes', `unknown node '${name}'`);
      if ([node.experimentPool, node.secondaryPool].includes(input.pool))
        throw InvalidError.field(
          'body.pool',
          `pool '${input.pool}' already serves node '${name}''s own networks`,
        );
      found.push(node);
    }
    return found;
  });
  // Docker first: a record only for a network that exists on every chosen node.
  const made: string[] = [];
  try {
    for (const node of nodes) {
      await ctx.dockers.for(node).ensureNetwork({
        name: input.name,
        subnet: net.subnet,
        ...(net.gateway ? { gateway: net.gateway } : {}),
        platform: ctx.config.PROVISIONING_PLATFORM_ID,
        internal: true,
      });
      made.push(node.name);
    }
  } catch (err) {
    for (const node of nodes.filter((n) => made.includes(n.name)))
      await ctx.dockers
        .for(node)
        .removeNetwork(input.name)
        .catch((e: unknown) =>
          ctx.logger.warn({ err: e, network: input.name, node: node.name }, 'undoing a network failed'),
        );
    throw err;
  }
  return inTransaction(ctx.db, async ({ tx }) => {
    const row = await insertNetwork(tx, {
      name: input.name,
      pool: input.pool,
      nodes: nodes.map((n) => n.name),
      owner,
    });
    await recordAudit(tx, { targetId: input.name, details: { pool: input.pool, nodes: row.nodes } });
    return row;
  });
}

/** Removes a network from its nodes, its owner or an operator asking; refused while containers are attached. */
export async function removeNetwork(ctx: ProvisioningContext, name: string, who: Principal): Promise<void> {
  const net = await inTransaction(ctx.db, async ({ tx }) => {
    const net = await findNetwork(tx, name);
    if (!net || !mayUseNetwork(net, who)) throw new NotFoundError('network', name);
    const attached = await containersOnNetwork(tx, name);
    if (attached.length > 0)
      throw new ConflictError(`network '${name}' has ${attached.length} container(s) attached`, {
        containers: attached.map((c) => c.id),
      });
    return net;
  });
  for (const nodeName of net.nodes) {
    const node = await inTransaction(ctx.db, ({ tx }) => findNode(tx, nodeName));
    if (node) await ctx.dockers.for(node).removeNetwork(name);
  }
  await inTransaction(ctx.db, async ({ tx }) => {
    await deleteNetwork(tx, name);
    await recordAudit(tx, { targetId: name });
  });
}
