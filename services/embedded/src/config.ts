import path from 'node:path';
import { z } from 'zod';
import { baseConfigShape, databaseUrl, port } from '@testbed/kit';
import { ipamConfigShape } from '@testbed/ipam';
import { embeddedQuotaConfigShape } from '@testbed/quota';

/** The embedded default's configuration: everything has a default, so `npm start` needs none. */
export const embeddedConfigSchema = z
  .object({
    ...baseConfigShape,
    PORT: port.default(8080),
    LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
    DATA_DIR: z.string().min(1).default('.data'),
    /** Defaults to PGlite inside DATA_DIR; a postgresql:// URL runs the same process on Postgres. */
    DATABASE_URL: databaseUrl.optional(),
    DOCKER_HOST: z
      .string()
      .regex(/^(unix|tcp|ssh|npipe):\/\/.+$/, 'must be unix://, tcp://, ssh:// or npipe://')
      .optional(),
    ...ipamConfigShape.shape,
    ...embeddedQuotaConfigShape.shape,
  })
  .transform((c) => ({
    ...c,
    DATA_DIR: path.resolve(c.DATA_DIR),
    DATABASE_URL: c.DATABASE_URL ?? `pglite://${path.resolve(c.DATA_DIR, 'pglite')}`,
  }));

export type EmbeddedConfig = z.infer<typeof embeddedConfigSchema>;
