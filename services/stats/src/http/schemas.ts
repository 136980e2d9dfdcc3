import { z } from 'zod';

/** RFC 3339 with a zone: a time without one means different instants to different clients. */
const instant = z.iso
  .datetime({ offset: true, error: 'must be an RFC 3339 time with a zone, e.g. 2030-01-01T10:00:00Z' })
  .transform((text) => new Date(text));

export const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, dot, dash and underscore; at most 63');

export const nodeParams = z.object({ node: nodeName });
export const containerParams = z.object({
  id: z
    .string()
    .regex(
      /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{12}|[0-9a-f]{64})$/,
      "the platform's container id (a UUID), or for operators Docker's id (12 or 64 hex digits)",
    ),
});

export const historyQuery = z.object({
  from: instant.optional(),
  to: instant.optional(),
  step: z.coerce
    .number({ error: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(1)
    .max(30 * 86400)
    .optional(),
});

export const liveQuery = z.object({
  node: nodeName.optional(),
  /** For EventSource, which cannot send an Authorization header. */
  access_token: z.string().min(1).max(8192).optional(),
});

export const overviewQuery = z.object({ node: nodeName.optional() });

const figure = z.number().nullable();

export const liveSample = z.object({
  t: z.string().describe('when the agent read the counters (RFC 3339)'),
  containerId: z
    .string()
    .describe("the platform's container id; Docker's id for a container the platform did not make"),
  dockerId: z.string(),
  name: z.string(),
  node: z.string(),
  owner: z.string().optional(),
  cpuPercent: figure.describe(
    'percent of one core (100 = one core busy); null on the first sample of a series',
  ),
  cpuLimitMillis: z.number().int().optional(),
  cpuPercentOfLimit: z.number().optional(),
  memoryBytes: z.number().int().describe('as docker stats counts it: usage less the inactive file cache'),
  memoryLimitBytes: z.number().int().optional(),
  memoryPercentOfLimit: z.number().optional(),
  rxBytes: z.number().int(),
  txBytes: z.number().int(),
  rxBytesPerSecond: figure,
  txBytesPerSecond: figure,
  pids: z.number().int(),
});

export const overviewAnswer = z.object({ items: z.array(liveSample) });

export const historyAnswer = z.object({
  containerId: z.string(),
  node: z.string(),
  name: z.string(),
  from: z.string(),
  to: z.string(),
  stepSeconds: z.number().int(),
  tier: z.enum(['raw', 'minute', 'hour']),
  cpuLimitMillis: z.number().int().optional(),
  memoryLimitBytes: z.number().int().optional(),
  points: z.array(
    z.object({
      t: z.string(),
      cpuPercent: figure,
      cpuPercentMax: figure,
      memoryBytes: z.number().int(),
      memoryBytesMax: z.number().int(),
      cpuPercentOfLimit: z.number().optional(),
      memoryPercentOfLimit: z.number().optional(),
      rxBytes: z.number().int(),
      txBytes: z.number().int(),
      rxBytesPerSecond: figure,
      txBytesPerSecond: figure,
      pids: z.number().int(),
    }),
  ),
});

export const totalsAnswer = z.object({
  node: z.string(),
  from: z.string(),
  to: z.string(),
  stepSeconds: z.number().int(),
  tier: z.enum(['raw', 'minute', 'hour']),
  points: z.array(
    z.object({
      t: z.string(),
      containers: z.number().int(),
      cpuPercent: z.number(),
      memoryBytes: z.number().int(),
      rxBytesPerSecond: z.number(),
      txBytesPerSecond: z.number(),
    }),
  ),
});

export const agentsAnswer = z.object({
  items: z.array(
    z.object({
      node: z.string(),
      lastHeartbeat: z.string(),
      intervalMs: z.number().int(),
      cpus: z.number().int(),
      memoryBytes: z.number().int(),
      source: z.enum(['cgroup-v1', 'cgroup-v2', 'docker-stats']),
      sourceReason: z.string().nullable(),
      containers: z.number().int(),
      buffered: z.number().int(),
      dropped: z.number().int(),
    }),
  ),
});

/** The live stream as OpenAPI can say it: text/event-stream events of these JSON payloads. */
export const liveStreamDescription = [
  'Server-Sent Events: `snapshot` {items: LiveSample[]} first, then `samples` {node, t, intervalMs, items}',
  'once per node per interval, and `gone` {node, containerIds} when containers stop being sampled.',
  'The same path accepts a WebSocket upgrade (token as ?access_token= or the subprotocol bearer.<token>),',
  'sending the same objects as JSON text frames with a `type` member.',
].join(' ');
