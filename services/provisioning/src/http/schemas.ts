import { z } from 'zod';
import { pageQuery } from '@testbed/kit';

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, ".", "_" and "-"');
const nodeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" and "-"');
const ipv4 = z.ipv4({ message: 'not an IPv4 address' });
const sshKey = z
  .string()
  .regex(/^(ssh-|ecdsa-|sk-)\S+ \S+/, 'an OpenSSH public key line')
  .max(16_384);

export const nodeParams = z.object({ node: nodeName });
export const idParams = z.object({ id: z.uuid() });

export const nodeBody = z.object({
  name: nodeName,
  dockerHost: z.string().regex(/^(unix|tcp|ssh):\/\/.+$/, 'unix://, tcp:// or ssh://'),
  tls: z
    .object({
      // A Kubernetes Secret's name: it becomes a folder under PROVISIONING_TLS_SECRETS_DIR, so
      // nothing that could leave that folder ('..', '/').
      secretRef: z
        .string()
        .max(253)
        .regex(
          /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
          'a Secret name (lower-case DNS name)',
        )
        .optional(),
      caPath: z.string().optional(),
      certPath: z.string().optional(),
      keyPath: z.string().optional(),
    })
    .optional(),
  insecure: z.boolean().default(false),
  macvlanParent: z.string().min(1).nullish(),
  experimentPool: z.string().min(1).default('experiment'),
  secondaryPool: z.string().min(1).default('secondary'),
  labels: z.record(z.string(), z.string()).default({}),
  schedulable: z.boolean().default(true),
});

export const nodePatch = z.object({
  schedulable: z.boolean().optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

const limits = {
  cpuMillis: z.number().int().min(10).max(256_000).optional(),
  memoryBytes: z
    .number()
    .int()
    .min(6 * 1024 * 1024)
    .max(Number.MAX_SAFE_INTEGER)
    .optional(),
};

export const containerBody = z.object({
  node: nodeName,
  name,
  image: z.string().min(1).max(255),
  ip: ipv4.optional(),
  ...limits,
  sshPublicKeys: z.array(sshKey).max(32).default([]),
  secondary: z
    .object({ pool: z.string().min(1).optional(), network: z.string().min(1).optional() })
    .optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
  command: z.array(z.string()).min(1).max(256).optional(),
});

export const batchBody = z.object({
  namePrefix: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,50}$/, 'lower-case letters, digits, ".", "_" and "-"'),
  count: z.number().int().min(1).max(1000),
  image: z.string().min(1).max(255),
  nodes: z.array(nodeName).min(1).max(64),
  baseIp: ipv4.optional(),
  placement: z.enum(['spread', 'pack']).default('spread'),
  ...limits,
  sshPublicKeys: z.array(sshKey).max(32).default([]),
  command: z.array(z.string()).min(1).max(256).optional(),
});

export const limitsPatch = z
  .object(limits)
  .refine((l) => l.cpuMillis !== undefined || l.memoryBytes !== undefined, {
    message: 'give cpuMillis or memoryBytes',
  });

export const containersQuery = z.object({
  ...pageQuery,
  node: nodeName.optional(),
  owner: z.string().optional(),
  state: z.string().optional(),
  name: z.string().optional(),
});
export const operationsQuery = z.object({
  ...pageQuery,
  owner: z.string().optional(),
  state: z.string().optional(),
});
export const deleteQuery = z.object({ force: z.enum(['true', 'false']).default('false') });
export const logsQuery = z.object({
  tail: z.coerce.number().int().min(0).max(100_000).optional(),
  since: z.coerce.number().int().min(0).optional(),
});
export const filesQuery = z.object({ path: z.string().min(1).startsWith('/') });

export const operationAnswer = z.object({
  id: z.string(),
  kind: z.string(),
  state: z.enum(['pending', 'running', 'succeeded', 'partially_succeeded', 'failed', 'cancelled']),
  createdAt: z.string(),
  updatedAt: z.string(),
  owner: z.string(),
  request: z.unknown(),
  result: z.unknown(),
  error: z.unknown(),
  items: z.array(z.unknown()),
});
export const containerAnswer = z.object({
  id: z.string(),
  name: z.string(),
  node: z.string(),
  owner: z.string(),
  image: z.string(),
  state: z.string(),
  interfaces: z.array(
    z.object({ name: z.string(), pool: z.string(), ip: z.string(), mac: z.string().nullable() }),
  ),
  cpuMillis: z.number(),
  memoryBytes: z.number(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  sshCommand: z.string(),
});
export const nodeAnswer = z.object({
  name: z.string(),
  dockerHost: z.string(),
  tls: z.object({ secretRef: z.string().nullable(), files: z.boolean() }).nullable(),
  insecure: z.boolean(),
  macvlanParent: z.string().nullable(),
  experimentPool: z.string(),
  secondaryPool: z.string(),
  labels: z.record(z.string(), z.string()),
  schedulable: z.boolean(),
  health: z.object({
    state: z.string(),
    lastSeenAt: z.string().nullable(),
    dockerVersion: z.string().nullable(),
    error: z.string().nullable(),
  }),
  network: z.string().nullable(),
  capacity: z.object({ cpuMillis: z.number(), memoryBytes: z.number() }).nullable(),
  use: z.object({ containers: z.number(), cpuMillis: z.number(), memoryBytes: z.number() }),
});

const networkName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, ".", "_" and "-"');
export const interfaceParams = z.object({
  id: z.uuid(),
  ifname: z.literal('eth1', { message: 'only eth1, the second interface, can be changed' }),
});
export const interfaceBody = z.object({
  pool: z.string().min(1).optional(),
  network: networkName.optional(),
});
export const interfacePatch = z.object({ ip: ipv4, pool: z.string().min(1).optional() });
export const interfaceAnswer = z.object({
  name: z.string(),
  pool: z.string(),
  ip: z.string(),
  mac: z.string().nullable(),
  network: z.string(),
});
export const networkParams = z.object({ name: networkName });
export const networkBody = z.object({
  name: networkName,
  pool: z.string().min(1),
  nodes: z.array(nodeName).min(1).max(64),
});
export const networkAnswer = z.object({
  name: z.string(),
  pool: z.string(),
  nodes: z.array(z.string()),
  owner: z.string(),
  createdAt: z.string(),
});
