import { inTransaction } from '@testbed/kit';
import { createOutcome } from '../domain/create-outcome';
import { admissionId } from '../domain/request-ids';
import { CREATE_KINDS, type OperationRecord } from '../domain/operation-work';
import { announceRemoved, announceStarted, releaseAddresses, releaseAdmission } from '../events/emit';
import {
  containersOfOperation,
  lockContainer,
  setMissingMacs,
  updateContainer,
  type ContainerRecord,
} from '../store/container-store';
import { findNode } from '../store/node-store';
import { findOperation, lockOperation, operationProgress } from '../store/operation-store';
import { boundedEach } from '../operations/bounded-each';
import { endOperation } from '../operations/end-operation';
import type { OperationWorker } from '../operations/workers';
import { expireCreate } from './create-saga';
import { ensureNodeNetwork } from './nodes';
import { startInterfaceOperation } from './interfaces';
import type { ProvisioningContext } from '../context';

type CreateOperation = OperationRecord<(typeof CREATE_KINDS)[number]>;

/** How stale the cancel flag a create's items see may be. */
const CANCEL_CHECK_MS = 250;

/**
 * The least time between two record transactions of one node's started containers: the ones
 * that start meanwhile are recorded together, and their `container.started` events reach ipam
 * and quota as one relay pass and one delivery each rather than one per container. The first
 * container is recorded at once and the last ones as soon as the node's items are done; one
 * in between may read `creating` this much longer after Docker started it.
 */
const RECORD_GROUP_MS = 500;

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Saga step 4: the Docker work of a create, by one worker at a time (a claim renewed while it
 * works; a dead worker's claim goes stale and the resume task hands the operation to another).
 * Each item is idempotent: a container already made for it (found by its label) is kept when it
 * runs and made again otherwise, so a restarted process converges.
 */
export function createWorker(ctx: ProvisioningContext): OperationWorker<(typeof CREATE_KINDS)[number]> {
  const failItems = (items: ContainerRecord[], error: string) =>
    inTransaction(ctx.db, async ({ tx }) => {
      for (const c of items)
        await updateContainer(tx, c.id, { state: 'error', error, removedAt: ctx.clock.now() });
    }).finally(() => {
      for (const c of items) ctx.making?.delete(c.id);
    });

  /**
   * Whether the operation's cancel was asked, read at most every CANCEL_CHECK_MS per operation
   * rather than in a transaction per item, and read behind the items: only the first waits for
   * the database, the others go on with the last answer while it is read again. An item started
   * just after a cancel is removed by the rollback like every other started one.
   */
  function cancelCheck(operationId: string): () => Promise<boolean> {
    let known: { at: number; cancelled: boolean } | undefined;
    let reading: Promise<boolean> | undefined;
    const read = () =>
      (reading ??= operationProgress(ctx.db.prisma, operationId)
        .then((p) => {
          known = { at: Date.now(), cancelled: p?.cancelRequested ?? false };
          return known.cancelled;
        })
        .finally(() => {
          reading = undefined;
        }));
    return async () => {
      if (!known) return read();
      // A failed read behind the items is asked again by the next item.
      if (!known.cancelled && Date.now() - known.at >= CANCEL_CHECK_MS) read().catch(() => undefined);
      return known.cancelled;
    };
  }

  /** What an item's Docker work made, waiting for its record. */
  interface Made {
    c: ContainerRecord;
    dockerId: string;
  }

  /**
   * The records of started containers, a group per transaction: while one commits, the items that
   * finish meanwhile queue for the next, so the node's Docker slots never wait for the database.
   * A group that fails is tried again item by item, so one bad row fails only its own item.
   */
  function startedRecorder(op: CreateOperation) {
    let queue: Made[] = [];
    let flushing: Promise<void> | undefined;
    let lastGroupAt = Number.NEGATIVE_INFINITY;
    // Set once the node's items are done: the rest is written without waiting out the interval.
    let draining = false;
    let wake: (() => void) | undefined;
    const nextGroupDue = async () => {
      const wait = lastGroupAt + RECORD_GROUP_MS - Date.now();
      if (draining || wait <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    };
    const recordGroup = (group: Made[]) =>
      inTransaction(ctx.db, async ({ tx }) => {
        const rows: ContainerRecord[] = [];
        for (const m of group) {
          const row = await updateContainer(tx, m.c.id, {
            state: 'running',
            dockerId: m.dockerId,
            startedAt: ctx.clock.now(),
          });
          await announceStarted(ctx, tx, row);
          rows.push(row);
        }
        return rows;
      });
    const afterStarted = async (started: ContainerRecord) => {
      // A second interface asked for at creation is its own operation once the container runs:
      // its address comes from ipam like any attach, and its failure leaves the container as it is.
      const secondary = op.saga.spec.secondary;
      if (secondary && !started.secondaryIp)
        await startInterfaceOperation(ctx, started, 'interface.attach', secondary).catch((err: unknown) =>
          ctx.logger.warn({ err, containerId: started.id }, 'second interface not attached'),
        );
    };
    const flush = async () => {
      while (queue.length > 0) {
        await nextGroupDue();
        lastGroupAt = Date.now();
        const group = queue;
        queue = [];
        let rows: ContainerRecord[];
        try {
          rows = await recordGroup(group).finally(() => {
            for (const m of group) ctx.making?.delete(m.c.id);
          });
        } catch {
          rows = [];
          for (const m of group) {
            try {
              rows.push(...(await recordGroup([m])));
            } catch (err) {
              await failItems([m.c], errorText(err)).catch((failErr: unknown) =>
                ctx.logger.warn({ err: failErr, containerId: m.c.id }, 'a failed item could not be recorded'),
              );
            }
          }
        }
        for (const row of rows) ctx.startedHere?.add(row.id);
        for (const row of rows) await afterStarted(row);
      }
    };
    return {
      record(m: Made): void {
        queue.push(m);
        flushing ??= flush().finally(() => {
          flushing = undefined;
        });
      },
      /** Resolves once every record handed over so far is written (at once, not at the interval). */
      async drained(): Promise<void> {
        draining = true;
        wake?.();
        while (flushing) await flushing;
      },
    };
  }

  async function runItem(
    op: CreateOperation,
    c: ContainerRecord,
    docker: ReturnType<typeof ctx.dockers.for>,
    network: string,
    existing: Map<string, { dockerId: string; state: string }>,
    cancelled: () => Promise<boolean>,
    recorder: ReturnType<typeof startedRecorder>,
  ) {
    if (await cancelled()) return failItems([c], 'cancelled');
    ctx.making?.add(c.id);
    try {
      const found = existing.get(c.id);
      if (found && found.state === 'running') {
        recorder.record({ c, dockerId: found.dockerId });
        return;
      }
      if (found) await docker.remove(found.dockerId, true);
      const spec = op.saga.spec;
      const { dockerId } = await docker.createAndStartOnly({
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
        sshPublicKeys: spec.sshPublicKeys,
        ...(spec.env ? { env: spec.env } : {}),
        ...(spec.command ? { command: spec.command } : {}),
      });
      // The container runs: it is recorded while this slot goes on to the next item.
      recorder.record({ c, dockerId });
    } catch (err) {
      await failItems([c], errorText(err));
    }
  }

  async function runNode(
    op: CreateOperation,
    nodeName: string,
    items: ContainerRecord[],
    cancelled: () => Promise<boolean>,
  ): Promise<void> {
    const node = await inTransaction(ctx.db, ({ tx }) => findNode(tx, nodeName));
    if (!node) return failItems(items, `node '${nodeName}' is no longer registered`);
    const docker = ctx.dockers.for(node);
    let network: string;
    let existing: Map<string, { dockerId: string; state: string }>;
    try {
      // Both are calls to the node; neither needs the other, and the first create waits for both.
      const [name, made] = await Promise.all([ensureNodeNetwork(ctx, node), docker.listOfOperation(op.id)]);
      network = name;
      existing = new Map(made.map((c) => [c.containerId, c]));
    } catch (err) {
      return failItems(items, errorText(err));
    }
    const recorder = startedRecorder(op);
    await boundedEach(items, ctx.config.PROVISIONING_PARALLELISM_PER_NODE, (c) =>
      runItem(op, c, docker, network, existing, cancelled, recorder),
    );
    await recorder.drained();
    await recordMacs(op, docker, network, items);
  }

  /**
   * The MACs of the node's new containers, from one listing once its items are done (an inspect
   * per container would cost the node a call each). The MAC is only shown in the container's
   * view; one that cannot be read stays null and is logged, the containers are not failed for it.
   */
  async function recordMacs(
    op: CreateOperation,
    docker: ReturnType<typeof ctx.dockers.for>,
    network: string,
    items: ContainerRecord[],
  ): Promise<void> {
    try {
      const macs = await docker.macsOfOperation(op.id, network);
      const known = items.flatMap((c) => {
        const mac = macs.get(c.id);
        return mac ? [{ id: c.id, mac }] : [];
      });
      await inTransaction(ctx.db, ({ tx }) => setMissingMacs(tx, known, ctx.clock.now()));
    } catch (err) {
      ctx.logger.warn(
        { err, operationId: op.id, node: docker.node },
        'the MACs of new containers not recorded',
      );
    }
  }

  /**
   * Cancel: containers already started are removed again (their addresses and usage follow
   * container.removed). One that cannot be removed stays recorded and running, named in the
   * outcome: announcing its removal would let ipam give its address to another container.
   */
  async function rollBack(op: CreateOperation): Promise<{ containerId: string; error: string }[]> {
    const notRemoved: { containerId: string; error: string }[] = [];
    const rows = await inTransaction(ctx.db, ({ tx }) => containersOfOperation(tx, op.id));
    for (const c of rows.filter((r) => r.state === 'running' && r.dockerId)) {
      const node = await inTransaction(ctx.db, ({ tx }) => findNode(tx, c.node));
      try {
        if (!node) throw new Error(`node '${c.node}' is no longer registered`);
        await ctx.dockers.for(node).remove(c.dockerId!, true);
      } catch (err) {
        const error = errorText(err);
        ctx.metrics.rollbackRemovalFailed(c.node);
        ctx.logger.warn(
          { err, containerId: c.id, operationId: op.id },
          'a cancelled create could not remove a container',
        );
        notRemoved.push({ containerId: c.id, error });
        await inTransaction(ctx.db, ({ tx }) =>
          updateContainer(tx, c.id, { error: `cancelled, but not removed from its node: ${error}` }),
        );
        continue;
      }
      await inTransaction(ctx.db, async ({ tx }) => {
        // The events watcher may have recorded the removal first: then it announced it too.
        const current = await lockContainer(tx, c.id);
        const row = await updateContainer(tx, c.id, {
          state: 'error',
          error: 'cancelled',
          removedAt: current?.removedAt ?? ctx.clock.now(),
        });
        if (!current?.removedAt) await announceRemoved(ctx, tx, row);
      });
    }
    return notRemoved;
  }

  /** Saga step 5: commit what runs, compensate the rest (their addresses and quota holds). */
  async function finish(operationId: string): Promise<void> {
    const seen = await inTransaction(ctx.db, ({ tx }) => findOperation(tx, operationId));
    if (!seen || seen.state !== 'running') return;
    const notRemoved = seen.cancelRequested ? await rollBack(seen as CreateOperation) : [];
    await inTransaction(ctx.db, async ({ tx }) => {
      const locked = await lockOperation(tx, operationId);
      if (
        !locked ||
        locked.state !== 'running' ||
        (locked.kind !== 'container.create' && locked.kind !== 'batch.create')
      )
        return;
      const rows = await containersOfOperation(tx, operationId);
      if (rows.some((r) => r.state === 'creating')) return; // another worker still has items; it finishes
      const outcome = createOutcome(rows, locked.cancelRequested, notRemoved);
      if (outcome.failedIps.length > 0)
        await releaseAddresses(ctx, tx, locked.saga.pool, { pool: locked.saga.pool, ips: outcome.failedIps });
      // Whatever the admissions still hold (failed items) is free again; started containers stay counted.
      for (const node of Object.keys(locked.saga.admissions))
        await releaseAdmission(ctx, tx, locked.owner, admissionId(operationId, node));
      await endOperation(ctx, tx, locked, {
        state: outcome.state,
        error: outcome.error,
        items: outcome.items,
        result: outcome.result,
      });
    });
  }

  return {
    kinds: CREATE_KINDS,
    async perform(op) {
      const cancelled = cancelCheck(op.id);
      // The first item's cancel check is read while the rows are (it is cached for the items after).
      void cancelled().catch(() => undefined);
      const rows = await inTransaction(ctx.db, ({ tx }) => containersOfOperation(tx, op.id));
      const byNode = new Map<string, ContainerRecord[]>();
      for (const r of rows.filter((r) => r.state === 'creating'))
        byNode.set(r.node, [...(byNode.get(r.node) ?? []), r]);
      try {
        await Promise.all([...byNode].map(([node, items]) => runNode(op, node, items, cancelled)));
        await finish(op.id);
      } finally {
        for (const r of rows) ctx.startedHere?.delete(r.id);
      }
    },
    expire: (tx, op) => expireCreate(ctx, tx, op),
  };
}
