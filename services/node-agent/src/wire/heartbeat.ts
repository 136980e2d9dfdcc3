import { z } from 'zod';
import { SAMPLE_SOURCES } from './sample-batch';

export const STATS_SAMPLES_TOPIC = 'testbed.stats.samples';
export const NODE_HEARTBEATS_TOPIC = 'testbed.node.heartbeats';
export const HEARTBEAT_EVENT_TYPE = 'node.heartbeat';

/** A container the agent samples, as Docker names it: the short ref of the batches resolves here. */
export const inventoryEntry = z.object({
  ref: z.string().regex(/^[0-9a-f]{12}$/),
  /** Docker's full id. */
  id: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().max(256),
  image: z.string().max(512),
  /** The platform's container id (label `testbed.container-id`), when the platform made it. */
  platformId: z.uuid().optional(),
  startedAt: z.iso.datetime().optional(),
});

/**
 * The agent's heartbeat (CloudEvent `node.heartbeat` on `testbed.node.heartbeats`, keyed by
 * node): that it lives, how it reads, what it has had to drop. It carries the inventory of
 * sampled containers when that changed and every few beats, so a stats service that starts
 * late learns every name.
 */
export const nodeHeartbeat = z.object({
  node: z.string().min(1).max(253),
  epoch: z.number().int().nonnegative(),
  /** The last batch sequence number made (sent or still buffered). */
  seq: z.number().int().nonnegative(),
  t: z.number().int().nonnegative(),
  intervalMs: z.number().int().positive(),
  cpus: z.number().int().positive(),
  memoryBytes: z.number().int().nonnegative(),
  source: z.enum(SAMPLE_SOURCES as [string, ...string[]]),
  /** Why the agent reads Docker's stats instead of cgroups, when it does. */
  sourceReason: z.string().max(1000).optional(),
  containers: z.number().int().nonnegative(),
  /** Batches waiting for the broker. */
  buffered: z.number().int().nonnegative(),
  /** Batches dropped (oldest first) since the agent started, the buffer being full. */
  dropped: z.number().int().nonnegative(),
  inventory: z.array(inventoryEntry).optional(),
});

export type NodeHeartbeat = z.infer<typeof nodeHeartbeat>;
export type InventoryEntry = z.infer<typeof inventoryEntry>;
