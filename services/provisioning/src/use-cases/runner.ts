import { enqueueEvent, type Tx } from '@testbed/kit';
import {
  commandTypes,
  IPAM_COMMANDS,
  PROVISIONING_EVENTS,
  provisioningEventTypes,
  QUOTA_COMMANDS,
  type ContainerStartedEvent,
} from '../events/contracts';
import { containersOfOperation, updateContainer, type ContainerRecord } from '../store/container-store';
import { findNode } from '../store/node-store';
import {
  findOperation,
  lockOperation,
  updateOperation,
  type OperationRecord,
} from '../store/operation-store';
import { announceOperation, command } from './saga';
import { ensureNodeNetwork } from './nodes';
import { ClaimedOperations } from './claims';
import { startInterfaceOperation } from './interfaces';
import { lockContainer } from './containers';
import type { ProvisioningContext } from './context';

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function startedEvent(c: ContainerRecord): ContainerStartedEvent {
  return {
    containerId: c.id,
    name: c.name,
    owner: c.owner,
    node: c.node,
    requestId: c.admissionId,
    cpuMillis: c.cpuMillis,
    memoryBytes: Number(c.memoryBytes),
    addresses: c.secondaryIp ? 2 : 1,
    interfaces: [
      { name: 'eth0', pool: c.pool, ip: c.ip },
      ...(c.secondaryIp && c.secondaryPool
        ? [{ name: 'eth1', pool: c.secondaryPool, ip: c.secondaryIp }]
        : []),
    ],
    ...(c.dockerId ? { dockerId: c.dockerId } : {}),
  };
}

export function emitContainerEvent(
  ctx: ProvisioningContext,
  tx: Tx,
  type: string,
  c: ContainerRecord,
  data: object,
) {
  return enqueueEvent(tx, {
    source: ctx.source,
    topic: PROVISIONING_EVENTS,
    key: c.id,
    type,
    subject: c.id,
    data,
    time: ctx.clock.now(),
  });
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function boundedEach<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

/**
 * Saga step 4: the Docker work of one operation, by one worker at a time (a claim renewed while
 * it works; a dead worker's claim goes stale and the resume task hands the operation to another).
 * Each item is idempotent: a container already made for it (found by its label) is kept when it
 * runs and made again otherwise, so a restarted process converges.
 */
export class ProvisionRunner extends ClaimedOperations {
  constructor(ctx: ProvisioningContext) {
    super(ctx, 'provisioning run');
  }

  protected async perform(op: OperationRecord): Promise<void> {
    const rows = await this.ctx.db.prisma.$transaction((tx) => containersOfOperation(tx, op.id));
    const byNode = new Map<string, ContainerRecord[]>();
    for (const r of rows.filter((r) => r.state === 'creating'))
      byNode.set(r.node, [...(byNode.get(r.node) ?? []), r]);
    await Promise.all([...byNode].map(([node, items]) => this.runNode(op, node, items)));
    await this.finish(op.id);
  }

  private async failItems(items: ContainerRecord[], error: string): Promise<void> {
    await this.ctx.db.prisma.$transaction(async (tx) => {
      for (const c of items)
        await updateContainer(tx, c.id, { state: 'error', error, removedAt: this.ctx.clock.now() });
    });
  }

  private async runNode(op: OperationRecord, nodeName: string, items: ContainerRecord[]): Promise<void> {
    const { ctx } = this;
    const node = await ctx.db.prisma.$transaction((tx) => findNode(tx, nodeName));
    if (!node) return this.failItems(items, `node '${nodeName}' is no longer registered`);
    const docker = ctx.dockers.for(node);
    let network: string;
    let existing: Map<string, { dockerId: string; state: string }>;
    try {
      network = await ensureNodeNetwork(ctx, node);
      existing = new Map(
        (await docker.listOwned(ctx.config.PROVISIONING_PLATFORM_ID)).map((c) => [c.containerId, c]),
      );
    } catch (err) {
      return this.failItems(items, messageOf(err));
    }
    await boundedEach(items, ctx.config.PROVISIONING_PARALLELISM_PER_NODE, async (c) => {
      const cancelled = await ctx.db.prisma.$transaction(
        async (tx) => (await findOperation(tx, op.id))?.cancelRequested,
      );
      if (cancelled) return this.failItems([c], 'cancelled');
      try {
        const found = existing.get(c.id);
        let made: { dockerId: string; mac: string | null };
        if (found && found.state === 'running') {
          made = { dockerId: found.dockerId, mac: null };
        } else {
          if (found) await docker.remove(found.dockerId, true);
          made = await docker.createAndStart({
            id: c.id,
            name: c.name,
            image: c.image,
            network,
            ip: c.ip,
            cpuMillis: c.cpuMillis,
            memoryBytes: Number(c.memoryBytes),
            pidsLimit: c.pidsLimit,
            owner: c.owner,
            operationId: op.id,
            platform: ctx.config.PROVISIONING_PLATFORM_ID,
            sshPublicKeys: op.saga.spec.sshPublicKeys,
            ...(op.saga.spec.env ? { env: op.saga.spec.env } : {}),
            ...(op.saga.spec.command ? { command: op.saga.spec.command } : {}),
          });
        }
        const started = await ctx.db.prisma.$transaction(async (tx) => {
          const row = await updateContainer(tx, c.id, {
            state: 'running',
            dockerId: made.dockerId,
            ...(made.mac ? { mac: made.mac } : {}),
            startedAt: ctx.clock.now(),
          });
          await emitContainerEvent(ctx, tx, provisioningEventTypes.containerStarted, row, startedEvent(row));
          return row;
        });
        // A second interface asked for at creation is its own operation once the container runs:
        // its address comes from ipam like any attach, and its failure leaves the container as it is.
        const secondary = op.saga.spec.secondary;
        if (secondary && !started.secondaryIp)
          await startInterfaceOperation(ctx, started, 'interface.attach', secondary).catch((err: unknown) =>
            ctx.logger.warn({ err, containerId: c.id }, 'second interface not attached'),
          );
      } catch (err) {
        await this.failItems([c], messageOf(err));
      }
    });
  }

  /** Saga step 5: commit what runs, compensate the rest (their addresses and quota holds). */
  private async finish(operationId: string): Promise<void> {
    const { ctx } = this;
    const op = await ctx.db.prisma.$transaction((tx) => findOperation(tx, operationId));
    if (!op || op.state !== 'running') return;
    if (op.cancelRequested) await this.rollBack(op);
    await ctx.db.prisma.$transaction(async (tx) => {
      const locked = await lockOperation(tx, operationId);
      if (!locked || locked.state !== 'running') return;
      const rows = await containersOfOperation(tx, operationId);
      if (rows.some((r) => r.state === 'creating')) return; // another worker still has items; it finishes
      const failed = rows.filter((r) => r.state === 'error');
      const ok = rows.filter((r) => r.state !== 'error' && r.state !== 'removed');
      if (failed.length > 0) {
        await command(ctx, tx, IPAM_COMMANDS, commandTypes.ipamRelease, locked.saga.pool, {
          pool: locked.saga.pool,
          ips: failed.map((r) => r.ip),
        });
      }
      // Whatever the admissions still hold (failed items) is free again; started containers stay counted.
      for (const node of Object.keys(locked.saga.admissions)) {
        await command(ctx, tx, QUOTA_COMMANDS, commandTypes.quotaRelease, locked.owner, {
          requestId: `prov:${operationId}:${node}`,
        });
      }
      const state = locked.cancelRequested
        ? 'cancelled'
        : failed.length === 0
          ? 'succeeded'
          : ok.length === 0
            ? 'failed'
            : 'partially_succeeded';
      const byNode: Record<string, string> = {};
      for (const r of failed) byNode[r.node] ??= r.error ?? 'failed';
      const error =
        failed.length === 0
          ? null
          : {
              type: locked.cancelRequested ? 'cancelled' : 'docker-failed',
              status: locked.cancelRequested ? 409 : 503,
              detail: Object.entries(byNode)
                .map(([n, e]) => `${n}: ${e}`)
                .join('; '),
              nodes: byNode,
            };
      await updateOperation(tx, operationId, {
        state,
        error: error as never,
        items: rows.map(itemView) as never,
        result: { succeeded: ok.length, failed: failed.length } as never,
        claimedBy: null,
        claimedAt: null,
      });
      await announceOperation(ctx, tx, operationId, locked.owner, state);
    });
  }

  /** Cancel: containers already started are removed again (their addresses and usage follow). */
  private async rollBack(op: OperationRecord): Promise<void> {
    const { ctx } = this;
    const rows = await ctx.db.prisma.$transaction((tx) => containersOfOperation(tx, op.id));
    for (const c of rows.filter((r) => r.state === 'running' && r.dockerId)) {
      const node = await ctx.db.prisma.$transaction((tx) => findNode(tx, c.node));
      if (node)
        await ctx.dockers
          .for(node)
          .remove(c.dockerId!, true)
          .catch(() => undefined);
      await ctx.db.prisma.$transaction(async (tx) => {
        // The events watcher may have recorded the removal first: then it announced it too.
        const current = await lockContainer(tx, c.id);
        const row = await updateContainer(tx, c.id, {
          state: 'error',
          error: 'cancelled',
          removedAt: current?.removedAt ?? ctx.clock.now(),
        });
        if (current?.removedAt) return;
        await emitContainerEvent(ctx, tx, provisioningEventTypes.containerRemoved, row, {
          containerId: row.id,
          node: row.node,
          owner: row.owner,
        });
      });
    }
  }
}

export function itemView(c: ContainerRecord) {
  return {
    name: c.name,
    node: c.node,
    state: c.state === 'error' ? 'failed' : c.state,
    containerId: c.id,
    ip: c.ip,
    error: c.error,
  };
}
