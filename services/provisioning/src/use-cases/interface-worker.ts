import { ConflictError, DomainError, inTransaction, NotFoundError, parseCidr } from '@testbed/kit';
import { addressChange, addressesHeld, IFNAME } from '../domain/interface-addresses';
import { INTERFACE_KINDS, isKind, type InterfaceKind, type OperationRecord } from '../domain/operation-work';
import { inspectImage, pullImage } from '../docker/node-images';
import type { NodeDocker } from '../docker/node-docker';
import { announceInterfaceChange } from '../events/emit';
import { provisioningEventTypes } from '../events/contracts';
import { findContainer, updateContainer, type ContainerRecord } from '../store/container-store';
import { findNode, type NodeRecord } from '../store/node-store';
import { lockOperation } from '../store/operation-store';
import { endOperation } from '../operations/end-operation';
import type { OperationWorker } from '../operations/workers';
import { expireInterfaceOperation, poolOfNetwork, releaseInterfaceAddress } from './interfaces';
import type { ProvisioningContext } from '../context';

type InterfaceOperation = OperationRecord<InterfaceKind>;
type SecondaryFields = Pick<
  ContainerRecord,
  'secondaryIp' | 'secondaryPool' | 'secondaryNetwork' | 'secondaryEndpointIp'
>;

/**
 * The Docker work of interface operations, one worker per operation (a claim like the create
 * runner's). Every step is idempotent, so the resume task can run an operation again after its
 * process died.
 *
 * An address outside the network's subnet (e.g. in the experiment range) cannot be given by
 * Docker, so it is set inside the container's namespace; Docker's endpoint keeps the address it
 * gave, and the platform keeps that one held too (`secondaryEndpointIp`) until the interface goes.
 */
export function interfaceWorker(ctx: ProvisioningContext): OperationWorker<InterfaceKind> {
  const helperImage = ctx.config.PROVISIONING_HELPER_IMAGE;

  /** The record, ipam's view (bind what is new, release what is no longer held) and the operation, at once. */
  const commit = (
    op: InterfaceOperation,
    c: ContainerRecord,
    node: NodeRecord,
    next: SecondaryFields,
    result: unknown,
  ) =>
    inTransaction(ctx.db, async ({ tx }) => {
      const locked = await lockOperation(tx, op.id);
      if (!locked || locked.state !== 'running') return;
      const before = addressesHeld(c, await poolOfNetwork(ctx, tx, node, c.secondaryNetwork));
      const row = await updateContainer(tx, c.id, next);
      const after = addressesHeld(row, await poolOfNetwork(ctx, tx, node, row.secondaryNetwork));
      const { released, added } = addressChange(before, after);
      const named = (held: typeof before) => held.map((h) => ({ name: IFNAME, ...h }));
      if (released.length > 0)
        await announceInterfaceChange(
          ctx,
          tx,
          provisioningEventTypes.interfaceDetached,
          row,
          named(released),
        );
      if (added.length > 0)
        await announceInterfaceChange(ctx, tx, provisioningEventTypes.interfaceAttached, row, named(added));
      await endOperation(ctx, tx, locked, { state: 'succeeded', result });
    });

  async function attachOrMove(
    op: InterfaceOperation,
    c: ContainerRecord & { dockerId: string },
    node: NodeRecord,
    docker: NodeDocker,
  ) {
    const network = op.saga.network!;
    const ip = op.saga.ip!;
    const nets = ctx.config.PROVISIONING_POOL_NETWORKS;
    const endpointPool = await inTransaction(ctx.db, ({ tx }) => poolOfNetwork(ctx, tx, node, network));
    const endpointNet = nets[endpointPool];
    if (!endpointNet)
      throw new ConflictError(`no network settings for pool '${endpointPool}' in PROVISIONING_POOL_NETWORKS`);
    await docker.ensureNetwork({
      name: network,
      subnet: endpointNet.subnet,
      ...(endpointNet.gateway ? { gateway: endpointNet.gateway } : {}),
      platform: ctx.config.PROVISIONING_PLATFORM_ID,
      internal: true,
    });
    let ep = await docker.endpointOn(c.dockerId, network);
    let endpointIp: string | null = null;
    let cidr: string | undefined;
    if (op.saga.pool === endpointPool) {
      // Docker can give this address itself: (re)connect with it.
      if (ep && ep.ip !== ip) await docker.detachInterface(network, c.dockerId, ep.mac, helperImage);
      if (!ep || ep.ip !== ip) await docker.connect(network, c.dockerId, ip);
      ep = await docker.endpointOn(c.dockerId, network);
      if (!ep) throw new ConflictError(`${IFNAME} of '${c.name}' did not connect to '${network}'`);
    } else {
      if (!ep) throw new ConflictError(`${IFNAME} of '${c.name}' is not connected to '${network}'`);
      const target = op.saga.pool ? nets[op.saga.pool] : undefined;
      const prefix = target ? parseCidr(target.subnet)?.prefix : undefined;
      if (prefix === undefined) throw new ConflictError(`no network settings for pool '${op.saga.pool}'`);
      cidr = `${ip}/${prefix}`;
      endpointIp = ep.ip;
    }
    await docker.configureInterface(
      c.dockerId,
      ep.mac,
      { name: IFNAME, ...(cidr ? { cidr } : {}) },
      helperImage,
    );
    await commit(
      op,
      c,
      node,
      {
        secondaryIp: ip,
        secondaryPool: op.saga.pool!,
        secondaryNetwork: network,
        secondaryEndpointIp: endpointIp,
      },
      { name: IFNAME, pool: op.saga.pool!, ip, mac: ep.mac ?? null, network },
    );
  }

  async function apply(op: InterfaceOperation): Promise<void> {
    const { c, node } = await inTransaction(ctx.db, async ({ tx }) => {
      const c = await findContainer(tx, op.saga.containerId);
      return { c, node: c ? await findNode(tx, c.node) : null };
    });
    if (!c || c.removedAt || !c.dockerId) throw new NotFoundError('container', op.saga.containerId);
    if (!node) throw new ConflictError(`node '${c.node}' is no longer registered`);
    const docker = ctx.dockers.for(node);
    // A node that never ran the helper pulls its image first (once; a pull is idempotent).
    if (!(await inspectImage(docker, helperImage))) await pullImage(docker, helperImage);
    const withDocker = { ...c, dockerId: c.dockerId };
    if (op.kind !== 'interface.detach') return attachOrMove(op, withDocker, node, docker);
    const ep = await docker.endpointOn(c.dockerId, c.secondaryNetwork!);
    if (ep) await docker.detachInterface(c.secondaryNetwork!, c.dockerId, ep.mac, helperImage);
    await commit(
      op,
      c,
      node,
      { secondaryIp: null, secondaryPool: null, secondaryNetwork: null, secondaryEndpointIp: null },
      null,
    );
  }

  /** A failed attach or move gives its new address back; the interface keeps what it had. */
  async function fail(op: InterfaceOperation, err: unknown): Promise<void> {
    if (op.kind === 'interface.attach' && op.saga.network) {
      const c = await inTransaction(ctx.db, ({ tx }) => findContainer(tx, op.saga.containerId));
      const node = c && (await inTransaction(ctx.db, ({ tx }) => findNode(tx, c.node)));
      if (c?.dockerId && node && !c.secondaryIp)
        await ctx.dockers
          .for(node)
          .disconnect(op.saga.network, c.dockerId)
          .catch((e: unknown) =>
            ctx.logger.warn({ err: e, operationId: op.id }, 'undoing a failed attach failed'),
          );
    }
    // The status says what went wrong: the container gone (404), not running (409), the daemon (5xx).
    const status = err instanceof DomainError ? err.status : 502;
    const detail = err instanceof Error ? err.message : String(err);
    await inTransaction(ctx.db, async ({ tx }) => {
      const locked = await lockOperation(tx, op.id);
      if (!locked || locked.state !== 'running' || !isKind(locked, ...INTERFACE_KINDS)) return;
      if (op.saga.allocation === 'allocated') await releaseInterfaceAddress(ctx, tx, locked);
      await endOperation(ctx, tx, locked, {
        state: 'failed',
        error: { type: 'interface-failed', status, detail },
      });
    });
  }

  return {
    kinds: INTERFACE_KINDS,
    async perform(op) {
      try {
        await apply(op);
      } catch (err) {
        await fail(op, err);
      }
    },
    expire: (tx, op) => expireInterfaceOperation(ctx, tx, op),
  };
}
