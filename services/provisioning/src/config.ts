import { z } from 'zod';
import { boolFlag } from '@testbed/kit';

const ms = (fallback: number) => z.coerce.number().int().min(50).max(3_600_000).default(fallback);

/** provisioning's own variables. */
export const provisioningConfigShape = z.object({
  /** Register TESTBED_NODES (NODEn_DOCKER_HOST, NODEn_MACVLAN_PARENT, DOCKER_TLS_*) at start. */
  PROVISIONING_NODES_FROM_ENV: boolFlag.default(false),
  /** Register the local daemon (DOCKER_HOST or the default socket) as node `local` when it answers. */
  PROVISIONING_LOCAL_NODE: boolFlag.default(false),
  DOCKER_HOST: z.string().optional(),
  /** Macvlan parent of the local node; a bridge network when empty (a laptop). */
  PROVISIONING_LOCAL_MACVLAN_PARENT: z.string().default(''),
  /** Label value marking what this platform owns on the daemons (several platforms may share one). */
  PROVISIONING_PLATFORM_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('testbed'),
  /** Name of the experiment network created on a node that has none on its parent link. */
  PROVISIONING_NETWORK_NAME: z.string().default('testbed-experiment'),
  /** Name of the secondary (placeholder) network second interfaces attach to, an internal bridge per node. */
  PROVISIONING_SECONDARY_NETWORK_NAME: z.string().default('testbed-secondary'),
  /** Image of the short-lived helper that sets a moved interface's address (needs `sh` and `ip`). */
  PROVISIONING_HELPER_IMAGE: z.string().default('busybox:stable'),
  /**
   * Subnet and gateway of each pool's Docker network, `pool=cidr@gateway` comma separated; the
   * same values as ipam's pools (provisioning does not read ipam's tables).
   */
  PROVISIONING_POOL_NETWORKS: z
    .string()
    .default('experiment=10.64.98.0/23@10.64.98.1,secondary=172.10.0.0/24@172.10.0.1'),
  /** Folder of mounted TLS Secrets: `<dir>/<secretRef>/{ca,cert,key}.pem`. */
  PROVISIONING_TLS_SECRETS_DIR: z.string().default('/var/run/secrets/testbed-docker'),
  PROVISIONING_HEALTH_INTERVAL_MS: ms(5000),
  PROVISIONING_RECONCILE_INTERVAL_MS: ms(5000),
  PROVISIONING_RESUME_INTERVAL_MS: ms(2000),
  /** A running operation whose worker has not written for this long is taken over (its process died). */
  PROVISIONING_CLAIM_STALE_MS: ms(6000),
  /** A saga still waiting for quota or ipam after this long fails and releases what it holds. */
  PROVISIONING_SAGA_DEADLINE_MS: ms(60_000),
  PROVISIONING_DOCKER_TIMEOUT_MS: ms(30_000),
  PROVISIONING_PARALLELISM_PER_NODE: z.coerce.number().int().min(1).max(64).default(4),
  /** `pack` placement puts at most this many containers of a batch on one node before the next. */
  PROVISIONING_PACK_PER_NODE: z.coerce.number().int().min(1).max(10_000).default(50),
  PROVISIONING_DEFAULT_CPU_MILLIS: z.coerce.number().int().min(1).default(100),
  PROVISIONING_DEFAULT_MEMORY_BYTES: z.coerce
    .number()
    .int()
    .min(4 * 1024 * 1024)
    .default(64 * 1024 * 1024),
  PROVISIONING_DEFAULT_PIDS_LIMIT: z.coerce.number().int().min(8).default(256),
  /** ipam hold of a saga's addresses until container.started binds them. */
  PROVISIONING_ADDRESS_HOLD_SECONDS: z.coerce.number().int().min(10).max(86_400).default(600),
});

export type ProvisioningConfig = z.infer<typeof provisioningConfigShape>;

export const defaultProvisioningConfig: ProvisioningConfig = provisioningConfigShape.parse({});

/** `pool=cidr@gateway,…` → map. */
export function poolNetworks(config: ProvisioningConfig): Map<string, { subnet: string; gateway?: string }> {
  const out = new Map<string, { subnet: string; gateway?: string }>();
  for (const part of config.PROVISIONING_POOL_NETWORKS.split(',')) {
    const [pool, rest] = part.trim().split('=');
    if (!pool || !rest) continue;
    const [subnet, gateway] = rest.split('@');
    if (subnet) out.set(pool, { subnet, ...(gateway ? { gateway } : {}) });
  }
  return out;
}
