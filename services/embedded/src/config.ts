import path from 'node:path';
import { z } from 'zod';
import { baseConfigShape, boolFlag, databaseUrl, port } from '@testbed/kit';
import { ipamConfigShape } from '@testbed/ipam';
import { embeddedQuotaConfigShape } from '@testbed/quota';
import { provisioningConfigShape } from '@testbed/provisioning';

/** The embedded default's configuration: everything has a default, so `npm start` needs none. */
export const embeddedConfigSchema = z
  .object({
    ...baseConfigShape,
    PORT: port.default(8080),
    LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
    DATA_DIR: z.string().min(1).default('.data'),
    /** Defaults to PGlite inside DATA_DIR; a postgresql:// URL runs the same process on Postgres. */
    DATABASE_URL: databaseUrl.optional(),
    ...ipamConfigShape.shape,
    ...embeddedQuotaConfigShape.shape,
    ...provisioningConfigShape.shape,
    /** The local Docker daemon is the node `local` when it answers. */
    PROVISIONING_LOCAL_NODE: boolFlag.default(true),
  })
  .transform((c) => ({
    ...c,
    DATA_DIR: path.resolve(c.DATA_DIR),
    DATABASE_URL: c.DATABASE_URL ?? `pglite://${path.resolve(c.DATA_DIR, 'pglite')}`,
  }));

export type EmbeddedConfig = z.infer<typeof embeddedConfigSchema>;
