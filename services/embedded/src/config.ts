import path from 'node:path';
import { z } from 'zod';
import { baseConfigShape, boolFlag, databaseUrl, port } from '@testbed/kit';
import { ipamConfigShape } from '@testbed/ipam';
import { embeddedQuotaConfigShape } from '@testbed/quota';
import { provisioningConfigShape, withEnvNodes } from '@testbed/provisioning';
import { statsConfigShape } from '@testbed/stats';
import { portalConfigShape } from '@testbed/portal';

/** The embedded default's configuration: everything has a default, so `npm start` needs none. */
export const embeddedConfigSchema = z
  .looseObject({
    ...baseConfigShape,
    PORT: port.default(8080),
    LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
    DATA_DIR: z.string().min(1).default('.data'),
    /** Defaults to PGlite inside DATA_DIR; a postgresql:// URL runs the same process on Postgres. */
    DATABASE_URL: databaseUrl.optional(),
    ...ipamConfigShape.shape,
    ...embeddedQuotaConfigShape.shape,
    ...provisioningConfigShape.shape,
    ...statsConfigShape.shape,
    ...portalConfigShape.shape,
    /** The local Docker daemon is the node `local` when it answers. */
    PROVISIONING_LOCAL_NODE: boolFlag.default(true),
    /** An agent in this process samples node `local`'s containers for the stats service. */
    STATS_LOCAL_AGENT: boolFlag.default(true),
    NODE_AGENT_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(3000),
    NODE_AGENT_CGROUP_ROOT: z.string().min(1).default('/sys/fs/cgroup'),
    NODE_AGENT_PROC_ROOT: z.string().min(1).default('/proc'),
  })
  // The nodes PROVISIONING_NODES_FROM_ENV names are read from the whole environment, in this pass.
  .transform((c, ctx) => ({
    ...withEnvNodes(c, ctx),
    DATA_DIR: path.resolve(c.DATA_DIR),
    DATABASE_URL: c.DATABASE_URL ?? `pglite://${path.resolve(c.DATA_DIR, 'pglite')}`,
  }));

export type EmbeddedConfig = z.infer<typeof embeddedConfigSchema>;
