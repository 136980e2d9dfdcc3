import { z } from 'zod';
import { boolFlag } from '@testbed/kit';

const nodeName = /[A-Za-z0-9][A-Za-z0-9._-]{0,62}/.source;
/** A comma separated list of node names; empty for none. */
const nodeNameList = z
  .string()
  .regex(
    new RegExp(`^\\s*(${nodeName}\\s*(,\\s*${nodeName}\\s*)*)?$`),
    'comma separated node names, e.g. node1,node2',
  );

const count = (fallback: number) => z.coerce.number().int().min(0).max(1_000_000).default(fallback);

/** quota's own variables: the default limits of every user, holds, reservations, the scheduler. */
export const quotaConfigShape = z.object({
  QUOTA_MAX_CONTAINERS: count(10),
  QUOTA_MAX_CPU_MILLIS: count(4000),
  QUOTA_MAX_MEMORY_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .default(4 * 1024 ** 3),
  QUOTA_MAX_ADDRESSES: count(20),
  QUOTA_MAX_CONCURRENT_RESERVATIONS: count(2),
  /** How long a granted admission holds its resources before the container must have started. */
  QUOTA_HOLD_SECONDS: z.coerce.number().int().min(1).max(86400).default(300),
  /** Admission needs a reservation of the node covering now. */
  QUOTA_ENFORCE_RESERVATIONS: boolFlag.default(true),
  /** Users may book (and change, cancel) reservations for themselves, not only the reservation system. */
  QUOTA_USERS_BOOK_SELF: boolFlag.default(true),
  /** `reservation.ending` comes this long before a reservation's end. */
  QUOTA_ENDING_LEAD_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86400)
    .default(600),
  QUOTA_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1000),
  /** Nodes known before provisioning announces any (its node.registered / node.removed events). */
  QUOTA_KNOWN_NODES: nodeNameList.default(''),
});

export type QuotaConfig = z.infer<typeof quotaConfigShape>;

/** Defaults for hosts that do not read quota's variables themselves (tests). */
export const defaultQuotaConfig: QuotaConfig = quotaConfigShape.parse({});

/**
 * The embedded default's variant: one machine, one node `local`, and containers need no
 * reservation (nobody runs a reservation system on a laptop).
 */
export const embeddedQuotaConfigShape = quotaConfigShape.extend({
  QUOTA_ENFORCE_RESERVATIONS: boolFlag.default(false),
  QUOTA_KNOWN_NODES: nodeNameList.default('local'),
});

export function knownNodeNames(config: Pick<QuotaConfig, 'QUOTA_KNOWN_NODES'>): string[] {
  return [
    ...new Set(
      config.QUOTA_KNOWN_NODES.split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    ),
  ];
}
