import { z } from 'zod';

/** Topics and event types quota reads and writes (DESIGN.md "Events"). */
export const QUOTA_COMMANDS = 'testbed.quota.commands';
export const QUOTA_EVENTS = 'testbed.quota.events';
export const RESERVATION_EVENTS = 'testbed.reservations.events';
export const PROVISIONING_EVENTS = 'testbed.provisioning.events';

export const quotaEventTypes = {
  reserveRequested: 'quota.reserve.requested',
  releaseRequested: 'quota.release.requested',
  reserveGranted: 'quota.reserve.granted',
  reserveRejected: 'quota.reserve.rejected',
  released: 'quota.released',
  resizeRequested: 'quota.resize.requested',
  resizeGranted: 'quota.resize.granted',
  resizeRejected: 'quota.resize.rejected',
} as const;

export const reservationEventTypes = {
  created: 'reservation.created',
  updated: 'reservation.updated',
  cancelled: 'reservation.cancelled',
  started: 'reservation.started',
  ending: 'reservation.ending',
  ended: 'reservation.ended',
} as const;

/** What quota reads on provisioning's topic; other types there are ignored. */
export const provisioningEventTypes = {
  containerStarted: 'container.started',
  containerRemoved: 'container.removed',
  interfaceAttached: 'container.interface.attached',
  interfaceDetached: 'container.interface.detached',
  nodeRegistered: 'node.registered',
  nodeRemoved: 'node.removed',
} as const;

const amount = z.number().int().min(0);

/**
 * Admission of `count` containers for `user` on `node`. `cpuMillis`, `memoryBytes` and
 * `addresses` are per container (the limits and interfaces each container gets), so the request
 * weighs `count` times each.
 */
export const reserveRequested = z.object({
  /** Correlates the answer with the request (the saga's operation id); defaults to the event id. */
  requestId: z.string().min(1).max(200).optional(),
  user: z.string().min(1).max(200),
  node: z.string().min(1).max(63),
  count: z.number().int().min(1).max(10_000),
  cpuMillis: amount.max(1_000_000),
  memoryBytes: amount.max(Number.MAX_SAFE_INTEGER),
  addresses: amount.max(64),
});

/**
 * A running container's new CPU and memory (provisioning's live update): granted when the user's
 * usage with the container at its new size fits the limits. `force` applies it unchecked (the
 * compensation that puts back the size a failed update left).
 */
export const resizeRequested = z.object({
  requestId: z.string().min(1).max(200),
  containerId: z.string().min(1),
  user: z.string().min(1).max(200),
  cpuMillis: amount.max(1_000_000),
  memoryBytes: amount.max(Number.MAX_SAFE_INTEGER),
  force: z.boolean().default(false),
});

/** Releases what one admission still holds (saga compensation); started containers stay counted. */
export const releaseRequested = z.object({ requestId: z.string().min(1).max(200) });

/** What quota needs of provisioning's `container.started`. */
export const containerStarted = z.object({
  containerId: z.string().min(1),
  owner: z.string().min(1),
  node: z.string().min(1),
  /** The admission it was created under: its hold becomes this container's usage. */
  requestId: z.string().min(1).optional(),
  /** Used only when no admission holds for it (a container found by reconciliation). */
  cpuMillis: amount.optional(),
  memoryBytes: amount.optional(),
  addresses: amount.optional(),
});

export const containerRemoved = z.object({ containerId: z.string().min(1) });

/** provisioning's `container.interface.attached` / `.detached`: the addresses a second interface took or gave back. */
export const interfaceChange = z.object({
  containerId: z.string().min(1),
  interfaces: z.array(z.object({ ip: z.string() })).min(1),
});

/** provisioning's `node.registered` / `node.removed`. */
export const nodeEvent = z.object({ name: z.string().min(1).max(63) });

export type ReserveRequested = z.infer<typeof reserveRequested>;
export type ContainerStarted = z.infer<typeof containerStarted>;

/** `quota.reserve.granted`: the hold lasts until `heldUntil` unless a container starts. */
export interface ReserveGranted {
  requestId: string;
  user: string;
  node: string;
  count: number;
  cpuMillis: number;
  memoryBytes: number;
  addresses: number;
  heldUntil: string;
}

/** Stable codes the saga can switch on; `reason` says it in words. */
export type RejectionCode = 'quota-exceeded' | 'no-reservation' | 'unknown-node' | 'invalid-request';

/** `quota.reserve.rejected`; `status` is the HTTP status the saga's operation reports. */
export interface ReserveRejected {
  requestId: string;
  user: string | null;
  node: string | null;
  code: RejectionCode;
  reason: string;
  status: 409 | 422;
}

/** `reservation.*` events. `reason` only on `reservation.ended` (`end` or `cancelled`). */
export interface ReservationEventData {
  reservationId: string;
  user: string;
  nodes: string[];
  start: string;
  end: string;
  reason?: 'end' | 'cancelled';
}
