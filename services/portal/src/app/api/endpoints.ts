import { call, get, getAll, newIdempotencyKey } from './client';
import type {
  AuditEntry,
  Availability,
  Container,
  ContainerHistory,
  DaemonContainer,
  InterfaceAnswer,
  Network,
  NodeHistory,
  NodeImage,
  NodeInfo,
  Operation,
  Page,
  Pool,
  Quota,
  Reservation,
  Role,
  Usage,
  User,
  LiveSample,
} from './types';
import type { ContainerRequest } from '@testbed/provisioning/src/use-cases/container-input';

/** The body of POST /v1/containers, as provisioning declares it (type only). */
export type CreateContainerBody = ContainerRequest;

/** The REST API as the portal uses it: shared/API.md plus the extensions the README lists. */

const q = (params: Record<string, string | number | undefined>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
};
const seg = encodeURIComponent;

export const localToken = (tokenPath: string, user: string, role: Role) =>
  call<{ accessToken: string; user: string; role: Role }>('POST', tokenPath, { body: { user, role } });

// ---- nodes and containers
export const listNodes = async () => (await get<Page<NodeInfo>>('/v1/nodes')).items;
export const nodeContainers = async (node: string) =>
  (await get<Page<DaemonContainer>>(`/v1/nodes/${seg(node)}/containers`)).items;
export const nodeImages = async (node: string) =>
  (await get<Page<NodeImage>>(`/v1/nodes/${seg(node)}/images`)).items;
export const listContainers = (filter: { node?: string; state?: string } = {}) =>
  getAll<Container>(`/v1/containers${q(filter)}`);
export const getContainer = (id: string) => get<Container>(`/v1/containers/${seg(id)}`);
/** The container's action list, oldest first (every page, bounded). */
export const containerActionList = (id: string) => getAll<AuditEntry>(`/v1/containers/${seg(id)}/actions`);
export const containerAction = async (id: string, action: 'start' | 'stop' | 'restart') =>
  (await call<Container>('POST', `/v1/containers/${seg(id)}/${action}`)).body;
export const removeContainer = async (id: string, force: boolean) => {
  await call<void>('DELETE', `/v1/containers/${seg(id)}${force ? '?force=true' : ''}`);
};
export const changeLimits = async (id: string, body: { cpuMillis?: number; memoryBytes?: number }) =>
  (await call<Container>('PATCH', `/v1/containers/${seg(id)}`, { body, waitSeconds: 30 })).body;

export const createContainer = (body: CreateContainerBody, idempotencyKey = newIdempotencyKey()) =>
  call<Operation>('POST', '/v1/containers', { body, waitSeconds: 60, idempotencyKey });

/** ipam's suggestion: what an allocation would get now (not held). */
export const suggestAddresses = async (pool: string, count = 1, start?: string) =>
  (await get<{ pool: string; items: string[] }>(`/v1/pools/${seg(pool)}/next-free${q({ count, start })}`))
    .items;

// ---- second interfaces: each answers once the change is done (or the operation, 202)
export const attachInterface = (id: string, body: { pool?: string; network?: string }) =>
  call<InterfaceAnswer | Operation>('POST', `/v1/containers/${seg(id)}/interfaces`, {
    body,
    waitSeconds: 60,
  });
export const moveInterface = (id: string, body: { ip: string; pool?: string }) =>
  call<InterfaceAnswer | Operation>('PATCH', `/v1/containers/${seg(id)}/interfaces/eth1`, {
    body,
    waitSeconds: 60,
  });
export const detachInterface = (id: string) =>
  call<Operation | undefined>('DELETE', `/v1/containers/${seg(id)}/interfaces/eth1`, { waitSeconds: 60 });

// ---- batches and operations
export interface BatchBody {
  namePrefix: string;
  count: number;
  image: string;
  nodes: string[];
  baseIp?: string;
  placement: 'spread' | 'pack';
  cpuMillis?: number;
  memoryBytes?: number;
  sshPublicKeys?: string[];
}
export const createBatch = (body: BatchBody, idempotencyKey = newIdempotencyKey()) =>
  call<Operation>('POST', '/v1/batches', { body, idempotencyKey });
/** Removing a batch is an operation (`batch.remove`): answered once it ended within the wait, else running. */
export const removeBatch = async (id: string) =>
  (await call<Operation>('DELETE', `/v1/batches/${seg(id)}`, { waitSeconds: 60 })).body;

/** What a finished `batch.remove` operation counts. */
export interface BatchRemoval {
  removed: number;
  errors: { containerId: string; error: string }[];
}
export const getOperation = (id: string) => get<Operation>(`/v1/operations/${seg(id)}`);
/** The API pages operations by id, not time: every page is read (bounded) and sorted here, newest first. */
export const listOperations = async (filter: { state?: string; owner?: string } = {}) =>
  (await getAll<Operation>(`/v1/operations${q(filter)}`)).sort((a, b) =>
    b.createdAt.localeCompare(a.createdAt),
  );
export const cancelOperation = async (id: string) =>
  (await call<Operation>('DELETE', `/v1/operations/${seg(id)}`)).body;

// ---- networks and pools
export const listNetworks = async () => (await get<Page<Network>>('/v1/networks')).items;
export const createNetwork = async (body: { name: string; pool: string; nodes: string[] }) =>
  (await call<Network>('POST', '/v1/networks', { body, idempotencyKey: newIdempotencyKey() })).body;
export const removeNetwork = async (name: string) => {
  await call<void>('DELETE', `/v1/networks/${seg(name)}`);
};
export const listPools = async () => (await get<Page<Pool>>('/v1/pools')).items;

// ---- reservations
export const listReservations = (filter: { from?: string; to?: string; node?: string; user?: string }) =>
  getAll<Reservation>(`/v1/reservations${q(filter)}`);
export const nodeAvailability = (node: string, from: string, to: string) =>
  get<Availability>(`/v1/nodes/${seg(node)}/availability${q({ from, to })}`);
export const bookReservation = async (body: { user: string; nodes: string[]; start: string; end: string }) =>
  (await call<Reservation>('POST', '/v1/reservations', { body, idempotencyKey: newIdempotencyKey() })).body;
export const changeReservationEnd = async (id: string, end: string) =>
  (await call<Reservation>('PATCH', `/v1/reservations/${seg(id)}`, { body: { end } })).body;
export const cancelReservation = async (id: string) => {
  await call<void>('DELETE', `/v1/reservations/${seg(id)}`);
};

// ---- users and quotas (operators)
export const listUsers = () => getAll<User>('/v1/users');
export const getQuota = (user: string) => get<Quota>(`/v1/users/${seg(user)}/quota`);
export const getUsage = (user: string) => get<Usage>(`/v1/users/${seg(user)}/usage`);
export const putQuota = async (
  user: string,
  body: Partial<Record<keyof Omit<Quota, 'user' | 'overridden'>, number | null>>,
) => (await call<Quota>('PUT', `/v1/users/${seg(user)}/quota`, { body })).body;

// ---- stats
export const latestSamples = async (node?: string) =>
  (await get<{ items: LiveSample[] }>(`/v1/stats/containers${q({ node })}`)).items;
export const containerHistory = (id: string, from: string, to: string) =>
  get<ContainerHistory>(`/v1/containers/${seg(id)}/stats${q({ from, to })}`);
export const nodeHistory = (node: string, from: string, to: string) =>
  get<NodeHistory>(`/v1/nodes/${seg(node)}/stats${q({ from, to })}`);
