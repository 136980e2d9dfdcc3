import type { Readable } from 'node:stream';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  actsForOthers,
  type Principal,
  type Tx,
} from '@testbed/kit';
import { provisioningEventTypes } from '../events/contracts';
import { findContainer, updateContainer, LIVE_STATES, type ContainerRecord } from '../store/container-store';
import { findNode } from '../store/node-store';
import { emitContainerEvent } from './runner';
import type { ProvisioningContext } from './context';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a label's value can name a record. Labels on a daemon are anyone's to write, and the
 * database refuses a non-UUID id with an error (one such label failed every reconcile pass).
 */
export const isRecordId = (value: string) => UUID.test(value);

/**
 * The container's record, its row locked until the transaction ends. The runner, the Docker
 * events watcher and the reconcile each read a record and then write it; unlocked, the later
 * writer overwrote the earlier one (a cancelled item's `error` became `removed`, a second
 * container.removed was sent).
 */
export async function lockContainer(tx: Tx, id: string): Promise<ContainerRecord | null> {
  if (!isRecordId(id)) return null;
  await tx.$executeRaw`SELECT 1 FROM provisioning.container WHERE id = ${id}::uuid FOR UPDATE`;
  return findContainer(tx, id);
}

/** The container, when the caller may see it (its owner, an operator, the service role). */
export async function containerFor(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
): Promise<ContainerRecord> {
  const c = await ctx.db.prisma.$transaction((tx) => findContainer(tx, id));
  if (!c || c.removedAt) throw new NotFoundError('container', id);
  if (c.owner !== who.subject && !actsForOthers(who))
    throw new ForbiddenError(`container '${id}' belongs to another user`);
  return c;
}

export async function dockerOf(ctx: ProvisioningContext, c: ContainerRecord) {
  const node = await ctx.db.prisma.$transaction((tx) => findNode(tx, c.node));
  if (!node) throw new NotFoundError('node', c.node);
  if (!c.dockerId) throw new ConflictError(`container '${c.id}' is still being created`, { state: c.state });
  return { docker: ctx.dockers.for(node), dockerId: c.dockerId };
}

const setState = (ctx: ProvisioningContext, id: string, state: string) =>
  ctx.db.prisma.$transaction((tx) => updateContainer(tx, id, { state }));

export async function startContainer(ctx: ProvisioningContext, c: ContainerRecord): Promise<ContainerRecord> {
  const { docker, dockerId } = await dockerOf(ctx, c);
  await docker.start(dockerId);
  return setState(ctx, c.id, 'running');
}

export async function stopContainer(ctx: ProvisioningContext, c: ContainerRecord): Promise<ContainerRecord> {
  const { docker, dockerId } = await dockerOf(ctx, c);
  await docker.stop(dockerId);
  return setState(ctx, c.id, 'stopped');
}

export async function restartContainer(
  ctx: ProvisioningContext,
  c: ContainerRecord,
): Promise<ContainerRecord> {
  const { docker, dockerId } = await dockerOf(ctx, c);
  await docker.restart(dockerId);
  return setState(ctx, c.id, 'running');
}

/** Removes the container from its node; its addresses (ipam) and usage (quota) follow container.removed. */
export async function removeContainer(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  force: boolean,
): Promise<void> {
  if (c.state === 'running' && !force) {
    throw new ConflictError(`container '${c.id}' is running: stop it first or pass ?force=true`, {
      state: c.state,
    });
  }
  if (c.dockerId) {
    const { docker, dockerId } = await dockerOf(ctx, c);
    await docker.remove(dockerId, true);
  }
  await markRemoved(ctx, c.id);
}

/** Records a removal once (API, drift, reconcile) and announces it. */
export async function markRemoved(ctx: ProvisioningContext, id: string): Promise<boolean> {
  return ctx.db.prisma.$transaction(async (tx) => {
    const c = await lockContainer(tx, id);
    if (!c || c.removedAt || !LIVE_STATES.includes(c.state)) return false;
    const row = await updateContainer(tx, id, { state: 'removed', removedAt: ctx.clock.now() });
    await emitContainerEvent(ctx, tx, provisioningEventTypes.containerRemoved, row, {
      containerId: row.id,
      node: row.node,
      owner: row.owner,
      interfaces: [],
    });
    return true;
  });
}

export async function containerLogs(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  opts: { tail?: number; since?: number },
): Promise<Buffer> {
  const { docker, dockerId } = await dockerOf(ctx, c);
  return docker.logs(dockerId, opts);
}

export async function downloadFiles(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  path: string,
): Promise<Readable> {
  const { docker, dockerId } = await dockerOf(ctx, c);
  return docker.getArchive(dockerId, path);
}

export async function uploadFiles(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  path: string,
  tar: Buffer,
): Promise<void> {
  const { docker, dockerId } = await dockerOf(ctx, c);
  await docker.putArchive(dockerId, path, tar);
}

/** A reservation ended: its user's containers on its nodes are stopped (the watcher records it). */
export async function stopReservationContainers(
  ctx: ProvisioningContext,
  user: string,
  nodes: string[],
): Promise<{ stopped: string[]; failed: { containerId: string; error: string }[] }> {
  const rows = await ctx.db.prisma.$transaction((tx) =>
    tx.container.findMany({ where: { owner: user, node: { in: nodes }, state: 'running', removedAt: null } }),
  );
  const stopped: string[] = [];
  const failed: { containerId: string; error: string }[] = [];
  for (const c of rows as ContainerRecord[]) {
    try {
      await stopContainer(ctx, c);
      stopped.push(c.id);
    } catch (err) {
      ctx.logger.warn({ err, container: c.id }, 'stopping at reservation end failed');
      failed.push({ containerId: c.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { stopped, failed };
}
