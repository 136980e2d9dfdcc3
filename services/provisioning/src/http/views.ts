import type { z } from 'zod';
import type { BatchRecord } from '../store/batch-store';
import type { ContainerRecord } from '../store/container-store';
import type { NetworkRecord } from '../store/network-store';
import type { NodeRecord, NodeUse } from '../store/node-store';
import type { OperationView } from '../use-cases/operations';
import type { batchAnswer, containerAnswer, networkAnswer, nodeAnswer } from './answers';

/** Records as the API shows them. */

export function nodeView(
  n: NodeRecord,
  use: NodeUse = { containers: 0, cpuMillis: 0, memoryBytes: 0 },
): z.infer<typeof nodeAnswer> {
  return {
    name: n.name,
    dockerHost: n.dockerHost,
    // TLS material is only ever named, never shown.
    tls: n.tlsSecretRef || n.tlsCaPath ? { secretRef: n.tlsSecretRef, files: Boolean(n.tlsCaPath) } : null,
    insecure: n.insecure,
    macvlanParent: n.macvlanParent,
    experimentPool: n.experimentPool,
    secondaryPool: n.secondaryPool,
    labels: (n.labels ?? {}) as Record<string, string>,
    schedulable: n.schedulable,
    health: {
      state: n.healthState,
      lastSeenAt: n.lastSeenAt?.toISOString() ?? null,
      dockerVersion: n.dockerVersion,
      error: n.healthError,
    },
    network: n.networkName,
    // What the daemon's machine has (unknown until the first health check) and what the
    // platform's containers on it were given.
    capacity:
      n.cpuCount !== null && n.memoryBytes !== null
        ? { cpuMillis: n.cpuCount * 1000, memoryBytes: Number(n.memoryBytes) }
        : null,
    use,
  };
}

export function containerView(c: ContainerRecord): z.infer<typeof containerAnswer> {
  return {
    id: c.id,
    name: c.name,
    node: c.node,
    owner: c.owner,
    image: c.image,
    state: c.state,
    interfaces: [
      { name: 'eth0', pool: c.pool, ip: c.ip, mac: c.mac },
      ...(c.secondaryIp && c.secondaryPool
        ? [{ name: 'eth1', pool: c.secondaryPool, ip: c.secondaryIp, mac: null }]
        : []),
    ],
    cpuMillis: c.cpuMillis,
    memoryBytes: Number(c.memoryBytes),
    createdAt: c.createdAt.toISOString(),
    startedAt: c.startedAt?.toISOString() ?? null,
    sshCommand: `ssh root@${c.ip}`,
  };
}

export const networkView = (n: NetworkRecord): z.infer<typeof networkAnswer> => ({
  name: n.name,
  pool: n.pool,
  nodes: n.nodes,
  owner: n.owner,
  createdAt: n.createdAt.toISOString(),
});

export const batchView = (b: BatchRecord, operation: OperationView): z.infer<typeof batchAnswer> => ({
  ...b,
  createdAt: b.createdAt.toISOString(),
  operation: operation as z.infer<typeof batchAnswer>['operation'],
});
