import { z } from 'zod';
import { pageQuery } from '@testbed/kit';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter');
// Addresses are checked for shape here and against the pool in the domain, which names the rule broken.
const ipv4 = z.ipv4({ message: 'not an IPv4 address' });

export const poolParams = z.object({ pool: name });
export const allocationParams = z.object({ pool: name, ip: ipv4 });

export const poolDefinitionBody = z.object({
  name,
  cidr: z.string().min(1).describe('IPv4 CIDR, e.g. 10.64.98.0/23'),
  rangeStart: z.string().min(1),
  rangeEnd: z.string().min(1),
  gateway: z.string().min(1).nullish(),
  exclude: z.array(z.string().min(1)).max(4096).default([]),
  segment: name.describe('L2 segment: pools on one segment share one address space'),
});

export const poolAnswer = z.object({
  name: z.string(),
  cidr: z.string(),
  rangeStart: z.string(),
  rangeEnd: z.string(),
  gateway: z.string().nullable(),
  exclude: z.array(z.string()),
  segment: z.string(),
  size: z.number().int(),
  used: z.number().int(),
  free: z.number().int(),
});

export const allocateBody = z
  .object({
    count: z.number().int().min(1, 'at least 1').max(65536).default(1),
    start: ipv4.optional().describe('first address of a contiguous ascending block'),
    ip: ipv4.optional().describe('this exact address'),
    owner: z.string().min(1).max(200),
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional()
      .describe('hold deadline; default from configuration'),
  })
  .refine((b) => !(b.ip && b.start), { message: 'give either ip or start, not both', path: ['ip'] })
  .refine((b) => !(b.ip && b.count !== 1), { message: 'ip allocates exactly one address', path: ['count'] });

export const allocationAnswer = z.object({
  ip: z.string(),
  pool: z.string(),
  state: z.enum(['held', 'bound']),
  owner: z.string(),
  heldUntil: z.string().nullable(),
  containerId: z.string().nullable(),
  createdAt: z.string(),
});

export const bindBody = z.object({
  state: z.literal('bound'),
  containerId: z.string().min(1).max(128),
});

export const allocationsQuery = z.object({
  state: z.enum(['held', 'bound']).optional(),
  owner: z.string().optional(),
  ...pageQuery,
});
export const poolsQuery = z.object({ ...pageQuery });

export const suggestQuery = z.object({
  count: z.coerce.number().int().min(1, 'at least 1').max(65536).default(1),
  start: ipv4.optional().describe('first address of the block in mind; default the lowest free run'),
});
export const suggestAnswer = z.object({
  pool: z.string(),
  items: z.array(z.string()).describe('the addresses an allocation would get now, ascending; not held'),
});

export type PoolDefinitionBody = z.infer<typeof poolDefinitionBody>;
export type AllocateBody = z.infer<typeof allocateBody>;
