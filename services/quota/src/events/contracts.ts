import { z } from 'zod';

/**
 * What quota accepts and emits (DESIGN.md "Events"): its topics, the commands it takes (their
 * senders import these schemas) and the answers and reservation events it sends (their consumers
 * validate with these). What quota reads of provisioning's topic is provisioning's contract,
 * imported where it is handled. This module depends on zod only.
 */
export const QUOTA_COMMANDS = 'testbed.quota.commands';
export const QUOTA_EVENTS = 'testbed.quota.events';
export const RESERVATION_EVENTS = 'testbed.reservations.events';

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

export type ReserveRequested = z.infer<typeof reserveRequested>;
export type ResizeRequested = z.output<typeof resizeRequested>;

/** `quota.reserve.granted`: the hold lasts until `heldUntil` unless a container starts. */
export const reserveGranted = z.object({
  requestId: z.string().min(1),
  user: z.string().min(1),
  node: z.string().min(1),
  count: z.number().int().min(1),
  cpuMillis: amount,
  memoryBytes: amount,
  addresses: amount,
  heldUntil: z.iso.datetime(),
});
export type ReserveGranted = z.infer<typeof reserveGranted>;

/** Stable codes the saga can switch on; `reason` says it in words. */
export const rejectionCode = z.enum(['quota-exceeded', 'no-reservation', 'unknown-node', 'invalid-request']);
export type RejectionCode = z.infer<typeof rejectionCode>;

/** `quota.reserve.rejected`; `status` is the HTTP status the saga's operation reports. */
export const reserveRejected = z.object({
  requestId: z.string().min(1),
  user: z.string().nullable(),
  node: z.string().nullable(),
  code: rejectionCode,
  reason: z.string(),
  status: z.union([z.literal(409), z.literal(422)]),
});
export type ReserveRejected = z.infer<typeof reserveRejected>;

/** `quota.resize.granted`: the container's new size is counted. */
export const resizeGranted = z.object({
  requestId: z.string().min(1),
  user: z.string().min(1),
  containerId: z.string().min(1),
  cpuMillis: amount,
  memoryBytes: amount,
});

/** `quota.resize.rejected`: the new size does not fit the user's limits (or the container is not counted). */
export const resizeRejected = z.object({
  requestId: z.string().min(1),
  user: z.string().min(1),
  containerId: z.string().min(1),
  code: z.enum(['quota-exceeded', 'unknown-container']),
  status: z.number().int(),
  reason: z.string(),
});

/** `reservation.*` events. `reason` only on `reservation.ended` (`end` or `cancelled`). */
export const reservationEvent = z.object({
  reservationId: z.string().min(1),
  user: z.string().min(1),
  nodes: z.array(z.string()),
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  reason: z.enum(['end', 'cancelled']).optional(),
});
export type ReservationEventData = z.infer<typeof reservationEvent>;
