/** A user's limits and the admission rule: pure, no I/O. */

export interface Limits {
  maxContainers: number;
  maxCpuMillis: number;
  maxMemoryBytes: number;
  maxAddresses: number;
  maxConcurrentReservations: number;
}

export const LIMIT_NAMES = [
  'maxContainers',
  'maxCpuMillis',
  'maxMemoryBytes',
  'maxAddresses',
  'maxConcurrentReservations',
] as const satisfies readonly (keyof Limits)[];

export type LimitName = (typeof LIMIT_NAMES)[number];

/** Per-user values; null or absent means "the configured default". */
export type LimitOverrides = { [K in LimitName]?: number | null };

export function effectiveLimits(defaults: Limits, overrides: LimitOverrides): Limits {
  const pick = (name: LimitName) => overrides[name] ?? defaults[name];
  return {
    maxContainers: pick('maxContainers'),
    maxCpuMillis: pick('maxCpuMillis'),
    maxMemoryBytes: pick('maxMemoryBytes'),
    maxAddresses: pick('maxAddresses'),
    maxConcurrentReservations: pick('maxConcurrentReservations'),
  };
}

/** What a user's containers take, running or held; also what one container asks for. */
export interface Resources {
  containers: number;
  cpuMillis: number;
  memoryBytes: number;
  addresses: number;
}

export const noResources: Resources = { containers: 0, cpuMillis: 0, memoryBytes: 0, addresses: 0 };

export function addResources(a: Resources, b: Resources): Resources {
  return {
    containers: a.containers + b.containers,
    cpuMillis: a.cpuMillis + b.cpuMillis,
    memoryBytes: a.memoryBytes + b.memoryBytes,
    addresses: a.addresses + b.addresses,
  };
}

/** `count` containers of one shape. */
export function timesContainers(
  count: number,
  each: { cpuMillis: number; memoryBytes: number; addresses: number },
): Resources {
  return {
    containers: count,
    cpuMillis: count * each.cpuMillis,
    memoryBytes: count * each.memoryBytes,
    addresses: count * each.addresses,
  };
}

export interface ExceededLimit {
  limit: Exclude<LimitName, 'maxConcurrentReservations'>;
  max: number;
  inUse: number;
  requested: number;
}

export type AdmissionVerdict =
  { granted: true } | { granted: false; exceeded: ExceededLimit[]; reason: string };

const checks = [
  ['maxContainers', 'containers'],
  ['maxCpuMillis', 'cpuMillis'],
  ['maxMemoryBytes', 'memoryBytes'],
  ['maxAddresses', 'addresses'],
] as const;

/**
 * Grants when every limit still holds with the request added; otherwise names each limit that
 * would be broken, with the numbers a person needs ("limit 10 containers, 9 in use, 3 requested").
 * `inUse` counts running containers and live holds alike: both are promised.
 */
export function decideAdmission(limits: Limits, inUse: Resources, requested: Resources): AdmissionVerdict {
  const exceeded: ExceededLimit[] = [];
  for (const [limit, field] of checks) {
    if (inUse[field] + requested[field] > limits[limit]) {
      exceeded.push({ limit, max: limits[limit], inUse: inUse[field], requested: requested[field] });
    }
  }
  if (exceeded.length === 0) return { granted: true };
  return { granted: false, exceeded, reason: exceeded.map(describeExceeded).join('; ') };
}

export function describeExceeded(e: ExceededLimit): string {
  switch (e.limit) {
    case 'maxContainers':
      return `limit ${e.max} containers, ${e.inUse} in use, ${e.requested} requested`;
    case 'maxCpuMillis':
      return `limit ${e.max} CPU millicores, ${e.inUse} in use, ${e.requested} requested`;
    case 'maxMemoryBytes':
      return `limit ${formatBytes(e.max)} of memory, ${formatBytes(e.inUse)} in use, ${formatBytes(e.requested)} requested`;
    case 'maxAddresses':
      return `limit ${e.max} addresses, ${e.inUse} in use, ${e.requested} requested`;
  }
}

/** Bytes in the largest binary unit that shows them exactly (4 GiB, 1536 MiB, 1000 B). */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}
