import { z } from 'zod';
import { pageQuery } from '@testbed/kit';
import { dockerHost, nodeName } from '../domain/node-registration';

/** The requests' schemas: path, query and body of every route (answers: answers.ts). */
const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, ".", "_" and "-"');
const ipv4 = z.ipv4({ message: 'not an IPv4 address' });
const sshKey = z
  .string()
  .regex(/^(ssh-|ecdsa-|sk-)\S+ \S+/, 'an OpenSSH public key line')
  .max(16_384);

export const nodeParams = z.object({ node: nodeName });
export const idParams = z.object({ id: z.uuid() });

export const nodeBody = z.object({
  name: nodeName,
  dockerHost,
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
export const networkParams = z.object({ name: networkName });
export const networkBody = z.object({
  name: networkName,
  pool: z.string().min(1),
  nodes: z.array(nodeName).min(1).max(64),
});
