import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Database } from '@testbed/kit';

import type { DockerCallObserver } from './docker/daemon';

/** Failures that are retried or left for a later pass: counted, so that none goes unseen. */
export interface ProvisioningMetrics {
  observeDockerCall: DockerCallObserver;
  /** A worker could not renew its claim on an operation (it retries at the next beat). */
  claimRenewalFailed(kind: string): void;
  /** The reconcile could not remove an orphan from a node (the next pass tries again). */
  orphanRemovalFailed(node: string): void;
  /** A cancelled create could not remove a container it made (it stays recorded, live). */
  rollbackRemovalFailed(node: string): void;
  /** An operation ended: how, and how long after it was asked for. */
  operationEnded(kind: string, state: string, seconds: number): void;
}

/**
 * provisioning's metrics: containers and operations by state and nodes' health are read from the
 * database at scrape time (any replica answers the same), Docker call latency and failures as
 * they happen.
 */
export function provisioningMetrics(registry: Registry, db: Database): ProvisioningMetrics {
  new Gauge({
    name: 'provisioning_containers',
    help: 'Containers the platform records, by node and state (removed ones left out)',
    labelNames: ['node', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db.prisma.container.groupBy({
        by: ['node', 'state'],
        where: { removedAt: null },
        _count: { _all: true },
      });
      for (const r of rows) this.set({ node: r.node, state: r.state }, r._count._all);
    },
  });
  new Gauge({
    name: 'provisioning_operations',
    help: 'Operations by kind and state',
    labelNames: ['kind', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db.prisma.operation.groupBy({ by: ['kind', 'state'], _count: { _all: true } });
      for (const r of rows) this.set({ kind: r.kind, state: r.state }, r._count._all);
    },
  });
  new Gauge({
    name: 'provisioning_node_up',
    help: '1 when the node’s daemon answered the last health check, else 0',
    labelNames: ['node'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const nodes = await db.prisma.node.findMany({ select: { name: true, healthState: true } });
      for (const n of nodes) this.set({ node: n.name }, n.healthState === 'up' ? 1 : 0);
    },
  });
  const calls = new Histogram({
    name: 'provisioning_docker_call_seconds',
    help: 'Duration of calls to the nodes’ Docker daemons',
    labelNames: ['node', 'call', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'provisioning_failures_total',
    help: 'Failures provisioning retries or leaves to a later pass, by what failed and where',
    labelNames: ['what', 'where'] as const,
    registers: [registry],
  });
  const operations = new Histogram({
    name: 'provisioning_operation_duration_seconds',
    help: 'Time from an operation asked for to its end, by kind and how it ended',
    labelNames: ['kind', 'state'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  return {
    operationEnded: (kind, state, seconds) => operations.observe({ kind, state }, Math.max(0, seconds)),
    observeDockerCall: (node, call, seconds, ok) =>
      calls.observe({ node, call, outcome: ok ? 'ok' : 'error' }, seconds),
    claimRenewalFailed: (kind) => failures.inc({ what: 'claim-renewal', where: kind }),
    orphanRemovalFailed: (node) => failures.inc({ what: 'orphan-removal', where: node }),
    rollbackRemovalFailed: (node) => failures.inc({ what: 'rollback-removal', where: node }),
  };
}
