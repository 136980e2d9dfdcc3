import { z } from 'zod';
import { pageQuery } from '@testbed/kit';
import { LIMIT_NAMES } from '../domain/limits';

const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * RFC 3339 with a zone (`Z` or an offset), as API.md asks: a time without one means different
 * instants to the reservation system and to us, so it is refused rather than guessed.
 */
export const instant = z.iso
  .datetime({
    offset: true,
    error: (issue) =>
      typeof issue.input === 'string' && LOCAL_TIME.test(issue.input)
        ? 'has no time zone: add Z or an offset such as +02:00'
        : 'must be an RFC 3339 time with a zone, e.g. 2030-01-01T10:00:00Z',
  })
  .transform((text) => new Date(text));

export const userName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^/\s]+$/, 'no slashes or spaces');
export const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, dot, dash and underscore; at most 63');

export const userParams = z.object({ user: userName });
export const nodeParams = z.object({ node: nodeName });
export const reservationParams = z.object({ id: z.uuid({ error: 'not a reservation id' }) });

const limitValue = (max: number) => z.number().int().min(0).max(max).nullable().optional();

/** PUT replaces: an absent or null limit is the configured default. */
export const quotaBody = z
  .object({
    maxContainers: limitValue(1_000_000),
    maxCpuMillis: limitValue(1_000_000_000),
    maxMemoryBytes: limitValue(Number.MAX_SAFE_INTEGER),
    maxAddresses: limitValue(1_000_000),
    maxConcurrentReservations: limitValue(1_000_000),
  })
  .strict();

export const quotaAnswer = z.object({
  user: z.string(),
  maxContainers: z.number().int(),
  maxCpuMillis: z.number().int(),
  maxMemoryBytes: z.number().int(),
  maxAddresses: z.number().int(),
  maxConcurrentReservations: z.number().int(),
  overridden: z.array(z.enum(LIMIT_NAMES)).describe('limits set for this user; the rest are the defaults'),
});

const limitUse = z.object({
  limit: z.number().int(),
  inUse: z.number().int().describe('taken by running containers'),
  held: z.number().int().describe('promised to admissions whose containers have not started'),
  available: z.number().int(),
});

export const usageAnswer = z.object({
  user: z.string(),
  containers: limitUse,
  cpuMillis: limitUse,
  memoryBytes: limitUse,
  addresses: limitUse,
  reservations: z.object({ limit: z.number().int(), active: z.number().int(), upcoming: z.number().int() }),
});

export const userAnswer = z.object({ name: z.string(), createdVia: z.string(), createdAt: z.string() });
export const usersQuery = z.object({ ...pageQuery });

export const reservationBody = z.object({
  user: userName,
  nodes: z
    .array(nodeName)
    .min(1, 'at least one node')
    .max(64)
    .refine((nodes) => new Set(nodes).size === nodes.length, 'a node appears twice'),
  start: instant,
  end: instant,
});

export const reservationPatch = z.object({ end: instant }).strict();

export const reservationAnswer = z.object({
  id: z.string(),
  user: z.string(),
  nodes: z.array(z.string()),
  start: z.string(),
  end: z.string(),
  state: z.enum(['upcoming', 'active', 'ended', 'cancelled']),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  cancelledAt: z.string().nullable(),
});

export const reservationsQuery = z.object({
  node: nodeName.optional(),
  user: userName.optional(),
  from: instant.optional().describe('reservations that end after this'),
  to: instant.optional().describe('reservations that start before this'),
  ...pageQuery,
});

export const availabilityQuery = z.object({
  from: instant.optional().describe('default: now'),
  to: instant.optional().describe('default: a week after from'),
});

const windowAnswer = z.object({ start: z.string(), end: z.string() });
export const availabilityAnswer = z.object({
  node: z.string(),
  from: z.string(),
  to: z.string(),
  free: z.array(windowAnswer),
  booked: z.array(windowAnswer.extend({ reservationId: z.string() })),
});
