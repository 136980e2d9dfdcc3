import { z } from 'zod';

/** The answers' schemas: every answer of the API is documented by one (OpenAPI). */
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
  traceId: z
    .string()
    .optional()
    .describe('the trace of the request that started it (W3C trace id): open it in the trace store'),
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

export const interfaceAnswer = z.object({
  name: z.string(),
  pool: z.string(),
  ip: z.string(),
  mac: z.string().nullable(),
  network: z.string(),
});
export const networkAnswer = z.object({
  name: z.string(),
  pool: z.string(),
  nodes: z.array(z.string()),
  owner: z.string(),
  createdAt: z.string(),
});

/** A list answer: its items, and the cursor of the next page (null on the last, or for unpaged lists). */
export const pageAnswer = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** A container on a node's daemon, the platform's or not. */
export const nodeContainerAnswer = z.object({
  dockerId: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.string(),
  status: z.string(),
  owner: z.string().nullable(),
  containerId: z.string().nullable(),
});

export const batchAnswer = z.object({
  id: z.string(),
  operationId: z.string(),
  owner: z.string(),
  namePrefix: z.string(),
  count: z.number(),
  nodes: z.array(z.string()),
  placement: z.string(),
  createdAt: z.string(),
  operation: operationAnswer,
});

export const logsAnswer = z.string().describe('the container’s stdout and stderr');
export const tarAnswer = z.string().meta({ format: 'binary', description: 'a tar archive' });

/** What a request that starts an operation answers, by how far it got. */
export const operationResponses = {
  202: { description: 'still running: the operation (Location names it)', schema: operationAnswer },
  201: { description: 'finished within Prefer: wait, having made something', schema: operationAnswer },
  200: { description: 'failed or cancelled within Prefer: wait', schema: operationAnswer },
};
