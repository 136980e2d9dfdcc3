/** The REST API's answers as the portal reads them (shared/API.md and the services' schemas). */

import type { LiveSample } from '@testbed/stats/src/live/live-sample';

// The roles and `/portal-config.json` are stated once, beside the server code that serves them.
export type { PortalConfig, Role, SignIn } from '../../server/portal-config-types';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface NodeInfo {
  name: string;
  dockerHost: string;
  labels: Record<string, string>;
  schedulable: boolean;
  experimentPool: string;
  secondaryPool: string;
  health: {
    state: 'up' | 'down' | 'unknown' | string;
    lastSeenAt: string | null;
    dockerVersion: string | null;
    error: string | null;
  };
  capacity: { cpuMillis: number; memoryBytes: number } | null;
  use: { containers: number; cpuMillis: number; memoryBytes: number };
}

export interface NetworkInterface {
  name: string;
  pool: string;
  ip: string;
  mac: string | null;
  network?: string;
}

export interface Container {
  id: string;
  name: string;
  node: string;
  owner: string;
  image: string;
  state: string;
  interfaces: NetworkInterface[];
  cpuMillis: number;
  memoryBytes: number;
  createdAt: string;
  startedAt: string | null;
  sshCommand: string;
}

/** A container as the node's daemon lists it (GET /v1/nodes/{node}/containers). */
export interface DaemonContainer {
  dockerId: string;
  name: string;
  image: string;
  state: string;
  status: string;
  owner: string | null;
  containerId: string | null;
}

export interface OperationItem {
  name: string;
  node?: string;
  state: string;
  containerId: string | null;
  ip: string | null;
  error: unknown;
}

export type OperationState =
  'pending' | 'running' | 'succeeded' | 'partially_succeeded' | 'failed' | 'cancelled';

export interface Operation {
  id: string;
  kind: string;
  state: OperationState;
  createdAt: string;
  updatedAt: string;
  owner: string;
  request: Record<string, unknown> | null;
  result: unknown;
  error: { type?: string; status?: number; detail?: string; title?: string } | null;
  items: OperationItem[];
  traceId?: string;
}

export interface Pool {
  name: string;
  cidr: string;
  rangeStart: string;
  rangeEnd: string;
  gateway: string | null;
  segment: string;
  size: number;
  used: number;
  free: number;
}

export interface Network {
  name: string;
  pool: string;
  nodes: string[];
  owner: string;
  createdAt: string;
}

export interface NodeImage {
  id: string;
  tags: string[];
  size?: number;
  created?: string;
}

export interface Reservation {
  id: string;
  user: string;
  nodes: string[];
  start: string;
  end: string;
  state: 'upcoming' | 'active' | 'ended' | 'cancelled';
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
}

export interface Availability {
  node: string;
  from: string;
  to: string;
  free: { start: string; end: string }[];
  booked: { start: string; end: string; reservationId: string }[];
}

export interface User {
  name: string;
  createdVia: string;
  createdAt: string;
}

export interface Quota {
  user: string;
  maxContainers: number;
  maxCpuMillis: number;
  maxMemoryBytes: number;
  maxAddresses: number;
  maxConcurrentReservations: number;
  overridden: string[];
}

/** Quota's answer shapes, imported as quota declares them (type only: nothing of quota is bundled). */
export type { LimitUse, UsageView as Usage } from '@testbed/quota/src/use-cases/usage-view';

/** The newest sample of one container, as the stats service declares it (type only). */
export type { LiveSample };

export interface SamplesEvent {
  node: string;
  t: string;
  intervalMs: number;
  items: LiveSample[];
}

export interface GoneEvent {
  node: string;
  containerIds: string[];
}

export interface ContainerHistoryPoint {
  t: string;
  cpuPercent: number | null;
  cpuPercentMax: number | null;
  memoryBytes: number | null;
  memoryBytesMax: number | null;
  cpuPercentOfLimit?: number | null;
  memoryPercentOfLimit?: number | null;
  rxBytes: number | null;
  txBytes: number | null;
  rxBytesPerSecond: number | null;
  txBytesPerSecond: number | null;
  pids: number | null;
}

export interface ContainerHistory {
  containerId: string;
  node: string;
  name: string;
  from: string;
  to: string;
  stepSeconds: number;
  tier: 'raw' | 'minute' | 'hour';
  cpuLimitMillis?: number;
  memoryLimitBytes?: number;
  points: ContainerHistoryPoint[];
}

export interface NodeHistory {
  node: string;
  from: string;
  to: string;
  stepSeconds: number;
  tier: string;
  points: {
    t: string;
    containers: number;
    cpuPercent: number;
    memoryBytes: number;
    rxBytesPerSecond: number;
    txBytesPerSecond: number;
  }[];
}

export interface InterfaceAnswer {
  name: string;
  pool: string;
  ip: string;
  mac: string | null;
  network: string;
}

/** One entry of the audit log (a container's action list, GET /v1/audit). */
export type { AuditEntryView as AuditEntry } from '@testbed/provisioning/src/http/audit-entry-view';
