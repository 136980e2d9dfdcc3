import { z } from 'zod';
import { boolFlag, parseCidr, parseIpv4 } from '@testbed/kit';
import { nodeRegistration, type NodeRegistration } from './domain/node-registration';

const ms = (fallback: number) => z.coerce.number().int().min(50).max(3_600_000).default(fallback);

export interface PoolNetwork {
  subnet: string;
  gateway?: string;
}

/** `pool=cidr@gateway,…`, each part checked: a subnet in CIDR form, a gateway that is an address. */
const poolNetworks = z.string().transform((text, ctx) => {
  const out: Record<string, PoolNetwork> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [pool, rest] = part.split('=');
    const [subnet, gateway] = (rest ?? '').split('@');
    if (!pool || !subnet || !parseCidr(subnet) || (gateway && parseIpv4(gateway) === undefined)) {
      ctx.addIssue({ code: 'custom', message: `'${part}' is not pool=a.b.c.d/len[@gateway]` });
      continue;
    }
    out[pool] = { subnet, ...(gateway ? { gateway } : {}) };
  }
  return out;
});

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
  PROVISIONING_POOL_NETWORKS: poolNetworks.prefault(
    'experiment=10.64.98.0/23@10.64.98.1,secondary=172.10.0.0/24@172.10.0.1',
  ),
  /** The nodes PROVISIONING_NODES_FROM_ENV registers (NODEn_DOCKER_HOST, NODEn_MACVLAN_PARENT of each). */
  TESTBED_NODES: z.string().default(''),
  /** The TLS client files of every node registered from the environment. */
  DOCKER_TLS_CA: z.string().optional(),
  DOCKER_TLS_CERT: z.string().optional(),
  DOCKER_TLS_KEY: z.string().optional(),
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

export type ProvisioningConfig = z.infer<typeof provisioningConfigShape> & {
  /** The nodes to register at start, read from the environment with the rest (empty unless NODES_FROM_ENV). */
  PROVISIONING_ENV_NODES: NodeRegistration[];
};

/**
 * The nodes of TESTBED_NODES, from the whole environment (NODEn_* are named by TESTBED_NODES, so no
 * fixed schema lists them): every one missing or malformed is a problem of the configuration,
 * reported with the others at start. Hosts apply it to their parsed configuration.
 */
export function withEnvNodes<C extends z.infer<typeof provisioningConfigShape>>(
  config: C & Record<string, unknown>,
  ctx: z.RefinementCtx,
): C & { PROVISIONING_ENV_NODES: NodeRegistration[] } {
  const nodes: NodeRegistration[] = [];
  if (config.PROVISIONING_NODES_FROM_ENV) {
    const tls =
      config.DOCKER_TLS_CA && config.DOCKER_TLS_CERT && config.DOCKER_TLS_KEY
        ? { caPath: config.DOCKER_TLS_CA, certPath: config.DOCKER_TLS_CERT, keyPath: config.DOCKER_TLS_KEY }
        : undefined;
    for (const name of config.TESTBED_NODES.split(',')
      .map((n) => n.trim())
      .filter(Boolean)) {
      const up = name.toUpperCase();
      const hostKey = `${up}_DOCKER_HOST`;
      const parsed = nodeRegistration.safeParse({
        name,
        dockerHost: config[hostKey],
        ...(tls ? { tls } : {}),
        macvlanParent: (config[`${up}_MACVLAN_PARENT`] as string | undefined) ?? null,
      });
      if (parsed.success) nodes.push(parsed.data);
      else
        for (const issue of parsed.error.issues)
          ctx.addIssue({
            code: 'custom',
            path: [issue.path[0] === 'dockerHost' ? hostKey : `TESTBED_NODES`],
            message: `node ${name}: ${issue.message}`,
          });
    }
  }
  return { ...config, PROVISIONING_ENV_NODES: nodes };
}

/** provisioning's configuration from an environment: its own variables and the nodes they name. */
export const provisioningConfigSchema = z
  .looseObject(provisioningConfigShape.shape)
  .transform((c, ctx) => withEnvNodes(c, ctx));

export const defaultProvisioningConfig: ProvisioningConfig = provisioningConfigSchema.parse({});
