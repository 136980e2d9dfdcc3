import { z } from 'zod';

/**
 * What ipam accepts and emits (DESIGN.md "Events"): its topics, the commands it takes (their
 * senders import these schemas) and the answers it sends (their consumers validate with these).
 * What ipam reads of provisioning's topic is provisioning's contract, imported where it is
 * handled. This module depends on zod only.
 */
export const IPAM_COMMANDS = 'testbed.ipam.commands';
export const IPAM_EVENTS = 'testbed.ipam.events';

export const ipamEventTypes = {
  allocateRequested: 'ipam.allocate.requested',
  releaseRequested: 'ipam.release.requested',
  allocated: 'ipam.allocated',
  allocateFailed: 'ipam.allocate.failed',
  released: 'ipam.released',
} as const;

const ipv4 = z.ipv4();

export const allocateRequested = z.object({
  /** Correlates the answer with the request (the saga's operation id); defaults to the event id. */
  requestId: z.string().min(1).optional(),
  pool: z.string().min(1),
  count: z.number().int().min(1).default(1),
  start: ipv4.optional(),
  ip: ipv4.optional(),
  owner: z.string().min(1),
  ttlSeconds: z.number().int().min(1).optional(),
});

export const releaseRequested = z
  .object({
    requestId: z.string().min(1).optional(),
    pool: z.string().min(1).optional(),
    ips: z.array(ipv4).optional(),
    /** Releases everything a request allocated (saga compensation). */
    allocationRequestId: z.string().min(1).optional(),
  })
  .refine((r) => (r.pool && r.ips) || r.allocationRequestId, {
    message: 'give pool and ips, or allocationRequestId',
  });

/** `ipam.allocated`: the addresses held for a request, ascending. */
export const allocatedEvent = z.object({
  requestId: z.string().nullable(),
  pool: z.string().min(1),
  owner: z.string().min(1),
  items: z.array(
    z.object({ ip: ipv4, state: z.enum(['held', 'bound']), heldUntil: z.iso.datetime().nullable() }),
  ),
});
export type AllocatedEvent = z.infer<typeof allocatedEvent>;

/** `ipam.allocate.failed`: why, as an HTTP status, with the first address in the way when one is. */
export const allocateFailedEvent = z.object({
  requestId: z.string().min(1),
  pool: z.string().nullable(),
  reason: z.string(),
  status: z.number().int(),
  firstConflict: ipv4.nullable(),
});
export type AllocateFailedEvent = z.infer<typeof allocateFailedEvent>;

/** `ipam.released`: addresses back in their pool. */
export const releasedEvent = z.object({
  pool: z.string().min(1),
  reason: z.string(),
  items: z.array(z.object({ ip: ipv4, owner: z.string(), containerId: z.string().nullable() })),
});

export type AllocateRequested = z.infer<typeof allocateRequested>;
export type ReleaseRequested = z.infer<typeof releaseRequested>;
