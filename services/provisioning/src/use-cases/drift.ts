import { inTransaction } from '@testbed/kit';
import { isRecordId } from '../domain/request-ids';
import { isTerminal } from '../domain/operation-work';
import { announceDied } from '../events/emit';
import {
  findContainer,
  liveContainersOfNode,
  lockContainer,
  updateContainer,
} from '../store/container-store';
import { findOperation } from '../store/operation-store';
import { allNodes } from './nodes';
import { markRemoved } from './containers';
import type { ProvisioningContext } from '../context';

/** A Docker event of one of the platform's containers, applied to its record. */
export async function applyDockerEvent(
  ctx: ProvisioningContext,
  e: { action: string; containerId: string },
): Promise<void> {
  // A label that names no record (made by hand, another tool) is no record's business.
  if (!isRecordId(e.containerId)) return;
  // A container this process is still making belongs to its saga (its row says `creating`, which
  // every branch below leaves alone): no need to read the row to know it.
  if (ctx.making?.has(e.containerId)) return;
  // Recorded running by this process, and no `die` since: its `start` changes nothing.
  if (e.action === 'start' && ctx.startedHere?.delete(e.containerId)) return;
  if (e.action === 'die') ctx.startedHere?.delete(e.containerId);
  if (e.action === 'destroy') {
    const c = await inTransaction(ctx.db, ({ tx }) => findContainer(tx, e.containerId));
    // A container still being made belongs to its saga: the runner decides what becomes of it.
    if (c && c.state !== 'creating') await markRemoved(ctx, c.id);
    return;
  }
  if (e.action === 'die' || e.action === 'start') {
    await inTransaction(ctx.db, async ({ tx }) => {
      const c = await lockContainer(tx, e.containerId);
      if (!c || c.removedAt || c.state === 'creating') return;
      if (e.action === 'start' && c.state !== 'running')
        await updateContainer(tx, c.id, { state: 'running' });
      if (e.action === 'die' && c.state === 'running') {
        const row = await updateContainer(tx, c.id, { state: 'exited' });
        await announceDied(ctx, tx, row);
      }
    });
  }
}

/** Keeps one Docker /events stream open per node; a closed stream is opened again at the next pass. */
export class DockerEventWatchers {
  private readonly open = new Map<string, () => void>();

  constructor(private readonly ctx: ProvisioningContext) {}

  async ensure(): Promise<void> {
    const { ctx } = this;
    for (const node of await allNodes(ctx)) {
      if (this.open.has(node.name) || node.healthState === 'down') continue;
      try {
        const docker = ctx.dockers.for(node);
        this.open.set(node.name, () => undefined);
        const close = await docker.watchEvents(
          ctx.config.PROVISIONING_PLATFORM_ID,
          (e) =>
            void applyDockerEvent(ctx, e).catch((err: unknown) =>
              ctx.logger.warn({ err, node: node.name }, 'docker event not applied'),
            ),
          (err) => {
            this.open.delete(node.name);
            if (err) ctx.logger.warn({ err: err.message, node: node.name }, 'docker events stream ended');
          },
        );
        this.open.set(node.name, close);
      } catch (err) {
        this.open.delete(node.name);
        ctx.logger.warn({ err, node: node.name }, 'cannot watch docker events');
      }
    }
  }

  stop(): void {
    for (const close of this.open.values()) close();
    this.open.clear();
  }
}

export interface ReconcileResult {
  removedRecords: number;
  removedOrphans: number;
  /** Orphans a node would not remove: counted here and in provisioning_failures_total, tried again next pass. */
  failedOrphans: number;
}

/**
 * One reconcile pass: a recorded container the node no longer has is removed (its addresses and
 * usage released); one the node runs with no live record (made by a saga that then ended) is removed
 * from the node; a state the events stream missed is corrected.
 */
export async function reconcile(ctx: ProvisioningContext): Promise<ReconcileResult> {
  const result: ReconcileResult = { removedRecords: 0, removedOrphans: 0, failedOrphans: 0 };
  for (const node of await allNodes(ctx)) {
    if (node.healthState === 'down') continue;
    // Records before the daemon's list: a record that says running was started before the list
    // was taken, so the list shows it unless it really went away (the other order took a
    // container started between the two reads for one that died or vanished).
    const recorded = await inTransaction(ctx.db, ({ tx }) => liveContainersOfNode(tx, node.name));
    let actual;
    let docker;
    try {
      docker = ctx.dockers.for(node);
      actual = await docker.listOwned(ctx.config.PROVISIONING_PLATFORM_ID);
    } catch {
      continue; // the health check marks the node down; nothing is concluded from a silent daemon
    }
    const onNode = new Map(actual.map((c) => [c.containerId, c]));
    for (const c of recorded) {
      if (c.state === 'creating') continue;
      const found = onNode.get(c.id);
      if (!found) {
        if (await markRemoved(ctx, c.id)) result.removedRecords++;
      } else if (found.state !== 'running' && c.state === 'running') {
        await applyDockerEvent(ctx, { action: 'die', containerId: c.id });
      } else if (found.state === 'running' && (c.state === 'exited' || c.state === 'stopped')) {
        // Started while the events stream was down (by hand, the daemon's restart policy).
        await applyDockerEvent(ctx, { action: 'start', containerId: c.id });
      }
    }
    const live = new Set(recorded.map((c) => c.id));
    for (const c of actual) {
      if (live.has(c.containerId)) continue;
      const op = isRecordId(c.operationId)
        ? await inTransaction(ctx.db, ({ tx }) => findOperation(tx, c.operationId).catch(() => null))
        : null;
      if (op && !isTerminal(op.state)) continue; // its saga is still deciding
      try {
        await docker.remove(c.dockerId, true);
        result.removedOrphans++;
      } catch (err) {
        result.failedOrphans++;
        ctx.metrics.orphanRemovalFailed(node.name);
        ctx.logger.warn(
          { err, node: node.name, dockerId: c.dockerId },
          'an orphan could not be removed; the next pass retries',
        );
      }
    }
  }
  return result;
}
