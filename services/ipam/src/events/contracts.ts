import { z } from 'zod';

/** Topics and event types ipam reads and writes (DESIGN.md "Events"). */
export const IPAM_COMMANDS = 'testbed.ipam.commands';
export const IPAM_EVENTS = 'testbed.ipam.events';
export const PROVISIONING_EVENTS = 'testbed.provisioning.events';

export const ipamEventTypes = {
  allocateRequested: 'ipam.allocate.requested',
  releaseRequested: 'ipam.release.requested',
  allocated: 'ipam.allocated',
  allocateFailed: 'ipam.allocate.failed',
  released: 'ipam.released',
  containerStarted: 'container.started',
  containerRemoved: 'container.removed',
  interfaceAttached: 'container.interface.attached',
  interfaceDetached: 'container.interface.detached',
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

/** What ipam needs of provisioning's container events. */
export const containerEvent = z.object({
  containerId: z.string().min(1),
  interfaces: z.array(z.object({ pool: z.string(), ip: ipv4 })).default([]),
});

export type AllocateRequested = z.infer<typeof allocateRequested>;
export type ReleaseRequested = z.infer<typeof releaseRequested>;
