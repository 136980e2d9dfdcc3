import type { Readable } from 'node:stream';
import {
  ConflictError,
  ForbiddenError,
  inTransaction,
  NotFoundError,
  recordAudit,
  actsForOthers,
  type Principal,
} from '@testbed/kit';
import { DockerCallError } from '../docker/deadline';
import type { NodeDocker } from '../docker/node-docker';
import { announceRemoved } from '../events/emit';
import {
  findContainer,
  listContainers,
  lockContainer,
  runningContainersOf,
  updateContainer,
  LIVE_STATES,
  type ContainerRecord,
} from '../store/container-store';
import { findNode } from '../store/node-store';
import type { ProvisioningContext } from '../context';

/** The container, when the caller may see it (its owner, an operator, the service role). */
export async function containerFor(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
): Promise<ContainerRecord> {
  const c = await inTransaction(ctx.db, ({ tx }) => findContainer(tx, id));
  if (!c || c.removedAt) throw new NotFoundError('container', id);
  if (c.owner !== who.subject && !actsForOthers(who))
    throw new ForbiddenError(`container '${id}' belongs to another user`);
  return c;
}

/** A page of containers: a user's own, or anyone's (`owner` to filter) for operators and services. */
export function containersPage(
  ctx: ProvisioningContext,
  who: Principal,
  filter: { node?: string; owner?: string; state?: string; name?: string; afterId?: string },
  limit: number,
): Promise<ContainerRecord[]> {
  const owner = actsForOthers(who) ? filter.owner : who.subject;
  return inTransaction(ctx.db, ({ tx }) => listContainers(tx, { ...filter, owner }, limit));
}

export async function dockerOf(
  ctx: ProvisioningContext,
  c: ContainerRecord,
): Promise<{ docker: NodeDocker; dockerId: string }> {
  const node = await inTransaction(ctx.db, ({ tx }) => findNode(tx, c.node));
  if (!node) throw new NotFoundError('node', c.node);
  if (!c.dockerId) throw new ConflictError(`container '${c.id}' is still being created`, { state: c.state });
  return { docker: ctx.dockers.for(node), dockerId: c.dockerId };
}

/** The record follows what the daemon did, and the action is on record with it. */
const setState = (ctx: ProvisioningContext, id: string, state: string, action: string) =>
  inTransaction(ctx.db, async ({ tx }) => {
    const row = await updateContainer(tx, id, { state });
    await recordAudit(tx, { action, targetType: 'container', targetId: id, source: 'provisioning' });
    return row;
  });

export type ContainerAction = 'start' | 'stop' | 'restart';

/** Starts, stops or restarts the caller's container on its node; the record follows. */
export async function actOnContainer(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
  action: ContainerAction,
): Promise<ContainerRecord> {
  const c = await containerFor(ctx, id, who);
  const { docker, dockerId } = await dockerOf(ctx, c);
  if (action === 'start') await docker.start(dockerId);
  else if (action === 'stop') await docker.stop(dockerId);
  else await docker.restart(dockerId);
  return setState(ctx, c.id, action === 'stop' ? 'stopped' : 'running', `container.${action}`);
}

/** Removes the container from its node; its addresses (ipam) and usage (quota) follow container.removed. */
export async function removeContainer(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  force: boolean,
  /** Its node's daemon, when the caller already looked the node up (a batch's removal, per node). */
  nodeDocker?: NodeDocker,
): Promise<void> {
  if (c.state === 'running' && !force) {
    throw new ConflictError(`container '${c.id}' is running: stop it first or pass ?force=true`, {
      state: c.state,
    });
  }
  if (c.dockerId) {
    const { docker, dockerId } = nodeDocker
      ? { docker: nodeDocker, dockerId: c.dockerId }
      : await dockerOf(ctx, c);
    await docker.remove(dockerId, true);
  }
  await markRemoved(ctx, c.id);
}

/** DELETE /v1/containers/{id}: the caller's container removed. */
export async function removeContainerFor(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
  force: boolean,
) {
  await removeContainer(ctx, await containerFor(ctx, id, who), force);
}

/** Records a removal once (API, drift, reconcile) and announces it. */
export function markRemoved(ctx: ProvisioningContext, id: string): Promise<boolean> {
  return inTransaction(ctx.db, async ({ tx }) => {
    const c = await lockContainer(tx, id);
    if (!c || c.removedAt || !LIVE_STATES.includes(c.state)) return false;
    const row = await updateContainer(tx, id, { state: 'removed', removedAt: ctx.clock.now() });
    await announceRemoved(ctx, tx, row);
    await recordAudit(tx, {
      action: 'container.remove',
      targetType: 'container',
      targetId: id,
      source: 'provisioning',
      actor: c.owner,
    });
    return true;
  });
}

export async function containerLogs(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
  opts: { tail?: number; since?: number },
): Promise<Buffer> {
  const { docker, dockerId } = await dockerOf(ctx, await containerFor(ctx, id, who));
  return docker.logs(dockerId, opts);
}

/** A path the daemon does not find in the container is our 404, naming the path. */
function pathNotFound(err: unknown, c: ContainerRecord, path: string): unknown {
  return err instanceof DockerCallError && err.statusCode === 404
    ? new NotFoundError(`path in container '${c.name}'`, path)
    : err;
}

export async function downloadFiles(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
  path: string,
): Promise<Readable> {
  const c = await containerFor(ctx, id, who);
  const { docker, dockerId } = await dockerOf(ctx, c);
  try {
    return await docker.getArchive(dockerId, path);
  } catch (err) {
    throw pathNotFound(err, c, path);
  }
}

export async function uploadFiles(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
  path: string,
  tar: Buffer,
): Promise<void> {
  const c = await containerFor(ctx, id, who);
  const { docker, dockerId } = await dockerOf(ctx, c);
  try {
    await docker.putArchive(dockerId, path, tar);
  } catch (err) {
    throw pathNotFound(err, c, path);
  }
}

/** A reservation ended: its user's containers on its nodes are stopped (the watcher records it). */
export async function stopReservationContainers(
  ctx: ProvisioningContext,
  user: string,
  nodes: string[],
): Promise<{ stopped: string[]; failed: { containerId: string; error: string }[] }> {
  const rows = await inTransaction(ctx.db, ({ tx }) => runningContainersOf(tx, user, nodes));
  const stopped: string[] = [];
  const failed: { containerId: string; error: string }[] = [];
  for (const c of rows) {
    try {
      const { docker, dockerId } = await dockerOf(ctx, c);
      await docker.stop(dockerId);
      await setState(ctx, c.id, 'stopped', 'container.stop');
      stopped.push(c.id);
    } catch (err) {
      ctx.logger.warn({ err, container: c.id }, 'stopping at reservation end failed');
      failed.push({ containerId: c.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { stopped, failed };
}
