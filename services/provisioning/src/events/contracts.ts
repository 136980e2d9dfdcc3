import { z } from 'zod';

/** Topics and event types provisioning reads and writes (DESIGN.md "Events"). */
export const PROVISIONING_EVENTS = 'testbed.provisioning.events';
export const QUOTA_COMMANDS = 'testbed.quota.commands';
export const QUOTA_EVENTS = 'testbed.quota.events';
export const IPAM_COMMANDS = 'testbed.ipam.commands';
export const IPAM_EVENTS = 'testbed.ipam.events';
export const RESERVATION_EVENTS = 'testbed.reservations.events';

export const provisioningEventTypes = {
  containerStarted: 'container.started',
  containerStopped: 'container.stopped',
  containerDied: 'container.died',
  containerRemoved: 'container.removed',
  interfaceAttached: 'container.interface.attached',
  interfaceDetached: 'container.interface.detached',
  nodeRegistered: 'node.registered',
  nodeRemoved: 'node.removed',
  operationSucceeded: 'operation.succeeded',
  operationPartiallySucceeded: 'operation.partially_succeeded',
  operationFailed: 'operation.failed',
  operationCancelled: 'operation.cancelled',
} as const;

/** What provisioning sends and reads of the other services (their contracts, restated). */
export const commandTypes = {
  quotaReserve: 'quota.reserve.requested',
  quotaRelease: 'quota.release.requested',
  quotaGranted: 'quota.reserve.granted',
  quotaRejected: 'quota.reserve.rejected',
  ipamAllocate: 'ipam.allocate.requested',
  ipamRelease: 'ipam.release.requested',
  ipamAllocated: 'ipam.allocated',
  ipamAllocateFailed: 'ipam.allocate.failed',
  reservationEnded: 'reservation.ended',
} as const;

const containerInterface = z.object({ name: z.string(), pool: z.string(), ip: z.string() });

/**
 * `container.started`: what ipam (interfaces), quota (owner, node, requestId) and stats (owner,
 * name, the Docker id its node agent samples the container under) need.
 */
export const containerStartedEvent = z.object({
  containerId: z.string().min(1),
  name: z.string(),
  owner: z.string().min(1),
  node: z.string().min(1),
  requestId: z.string(),
  cpuMillis: z.number().int().min(0),
  memoryBytes: z.number().int().min(0),
  addresses: z.number().int().min(0),
  interfaces: z.array(containerInterface),
  /** Docker's id of the container on its node (absent in events of earlier versions). */
  dockerId: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type ContainerStartedEvent = z.infer<typeof containerStartedEvent>;

/** `container.removed`: the container is gone from its node, with what it held. */
export const containerRemovedEvent = z.object({
  containerId: z.string().min(1),
  node: z.string().min(1),
  owner: z.string().min(1),
  interfaces: z.array(containerInterface).default([]),
});
export type ContainerRemovedEvent = z.infer<typeof containerRemovedEvent>;

/** Saga request ids: an admission per node, one allocation per operation. */
export const admissionId = (operationId: string, node: string) => `prov:${operationId}:${node}`;
export const allocationId = (operationId: string) => `prov:${operationId}`;

export function parseSagaId(requestId: unknown): { operationId: string; node?: string } | undefined {
  if (typeof requestId !== 'string') return undefined;
  const m = /^prov:([0-9a-f-]{36})(?::(.+))?$/.exec(requestId);
  return m ? { operationId: m[1]!, ...(m[2] ? { node: m[2] } : {}) } : undefined;
}
