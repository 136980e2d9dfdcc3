import { z } from 'zod';

/**
 * What provisioning emits (DESIGN.md "Events"): its topic, its event types and each event's
 * contract. Consumers (ipam, quota, stats) import these schemas and validate what they receive.
 * This module depends on zod only, so every service can import it without a cycle.
 */
export const PROVISIONING_EVENTS = 'testbed.provisioning.events';

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

export const containerInterface = z.object({
  name: z.string().min(1),
  pool: z.string().min(1),
  ip: z.ipv4(),
});
export type ContainerInterface = z.infer<typeof containerInterface>;

/**
 * `container.started`: what ipam (interfaces), quota (owner, node, requestId: the admission whose
 * hold becomes usage; the sizes when none holds for it) and stats (owner, name, the Docker id its
 * node agent samples the container under) need.
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

/** `container.died`: it stopped running on its node without being asked (killed, crashed). */
export const containerDiedEvent = z.object({
  containerId: z.string().min(1),
  node: z.string().min(1),
  owner: z.string().min(1),
});
export type ContainerDiedEvent = z.infer<typeof containerDiedEvent>;

/** `container.interface.attached` / `.detached`: the addresses a second interface took or gave back. */
export const interfaceChangedEvent = z.object({
  containerId: z.string().min(1),
  owner: z.string().min(1),
  node: z.string().min(1),
  interfaces: z.array(containerInterface).min(1),
});
export type InterfaceChangedEvent = z.infer<typeof interfaceChangedEvent>;

/** `node.registered` / `node.removed`. */
export const nodeEvent = z.object({ name: z.string().min(1).max(63) });
export type NodeEvent = z.infer<typeof nodeEvent>;

/** `operation.<state>`: an operation ended. */
export const operationEndedEvent = z.object({
  operationId: z.uuid(),
  owner: z.string().min(1),
  state: z.enum(['succeeded', 'partially_succeeded', 'failed', 'cancelled']),
});
export type OperationEndedEvent = z.infer<typeof operationEndedEvent>;
