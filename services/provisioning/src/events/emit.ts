import type { z } from 'zod';
import { enqueueEvent, type Tx } from '@testbed/kit';
import {
  allocateRequested,
  IPAM_COMMANDS,
  ipamEventTypes,
  releaseRequested as addressRelease,
} from '@testbed/ipam/src/events/contracts';
import {
  QUOTA_COMMANDS,
  quotaEventTypes,
  releaseRequested as quotaRelease,
  reserveRequested,
  resizeRequested,
} from '@testbed/quota/src/events/contracts';
import {
  containerDiedEvent,
  containerRemovedEvent,
  containerStartedEvent,
  interfaceChangedEvent,
  nodeEvent,
  operationEndedEvent,
  PROVISIONING_EVENTS,
  provisioningEventTypes,
  type ContainerInterface,
  type OperationEndedEvent,
} from './contracts';
import type { ContainerRecord } from '../store/container-store';
import type { ProvisioningContext } from '../context';

/**
 * Everything provisioning puts on the bus, in the caller's transaction (the outbox): its own
 * events, and its commands to quota and ipam, each checked against the contract of the service
 * that owns it before it is written.
 */
function emit<S extends z.ZodType>(
  ctx: ProvisioningContext,
  tx: Tx,
  e: { topic: string; type: string; key: string; subject?: string; schema: S; data: z.input<S> },
) {
  return enqueueEvent(tx, {
    source: ctx.source,
    topic: e.topic,
    key: e.key,
    type: e.type,
    ...(e.subject ? { subject: e.subject } : {}),
    data: e.schema.parse(e.data) as object,
    time: ctx.clock.now(),
  });
}

/** eth0, and eth1 when the container has one. */
export function interfacesOf(c: ContainerRecord): ContainerInterface[] {
  return [
    { name: 'eth0', pool: c.pool, ip: c.ip },
    ...(c.secondaryIp && c.secondaryPool ? [{ name: 'eth1', pool: c.secondaryPool, ip: c.secondaryIp }] : []),
  ];
}

const aboutContainer = (c: ContainerRecord) => ({ topic: PROVISIONING_EVENTS, key: c.id, subject: c.id });

export const announceStarted = (ctx: ProvisioningContext, tx: Tx, c: ContainerRecord) =>
  emit(ctx, tx, {
    ...aboutContainer(c),
    type: provisioningEventTypes.containerStarted,
    schema: containerStartedEvent,
    data: {
      containerId: c.id,
      name: c.name,
      owner: c.owner,
      node: c.node,
      requestId: c.admissionId,
      cpuMillis: c.cpuMillis,
      memoryBytes: Number(c.memoryBytes),
      addresses: c.secondaryIp ? 2 : 1,
      interfaces: interfacesOf(c),
      ...(c.dockerId ? { dockerId: c.dockerId } : {}),
    },
  });

export const announceRemoved = (ctx: ProvisioningContext, tx: Tx, c: ContainerRecord) =>
  emit(ctx, tx, {
    ...aboutContainer(c),
    type: provisioningEventTypes.containerRemoved,
    schema: containerRemovedEvent,
    data: { containerId: c.id, node: c.node, owner: c.owner, interfaces: [] },
  });

export const announceDied = (ctx: ProvisioningContext, tx: Tx, c: ContainerRecord) =>
  emit(ctx, tx, {
    ...aboutContainer(c),
    type: provisioningEventTypes.containerDied,
    schema: containerDiedEvent,
    data: { containerId: c.id, node: c.node, owner: c.owner },
  });

export const announceInterfaceChange = (
  ctx: ProvisioningContext,
  tx: Tx,
  type: typeof provisioningEventTypes.interfaceAttached | typeof provisioningEventTypes.interfaceDetached,
  c: ContainerRecord,
  interfaces: ContainerInterface[],
) =>
  emit(ctx, tx, {
    ...aboutContainer(c),
    type,
    schema: interfaceChangedEvent,
    data: { containerId: c.id, owner: c.owner, node: c.node, interfaces },
  });

export const announceNode = (
  ctx: ProvisioningContext,
  tx: Tx,
  type: typeof provisioningEventTypes.nodeRegistered | typeof provisioningEventTypes.nodeRemoved,
  name: string,
) =>
  emit(ctx, tx, {
    topic: PROVISIONING_EVENTS,
    key: name,
    subject: name,
    type,
    schema: nodeEvent,
    data: { name },
  });

export const announceOperation = (
  ctx: ProvisioningContext,
  tx: Tx,
  op: { id: string; owner: string },
  state: OperationEndedEvent['state'],
) =>
  emit(ctx, tx, {
    topic: PROVISIONING_EVENTS,
    key: op.id,
    subject: op.id,
    type: `operation.${state}`,
    schema: operationEndedEvent,
    data: { operationId: op.id, owner: op.owner, state },
  });

export const askAdmission = (ctx: ProvisioningContext, tx: Tx, data: z.input<typeof reserveRequested>) =>
  emit(ctx, tx, {
    topic: QUOTA_COMMANDS,
    key: data.user,
    type: quotaEventTypes.reserveRequested,
    schema: reserveRequested,
    data,
  });

export const releaseAdmission = (ctx: ProvisioningContext, tx: Tx, owner: string, requestId: string) =>
  emit(ctx, tx, {
    topic: QUOTA_COMMANDS,
    key: owner,
    type: quotaEventTypes.releaseRequested,
    schema: quotaRelease,
    data: { requestId },
  });

export const askResize = (ctx: ProvisioningContext, tx: Tx, data: z.input<typeof resizeRequested>) =>
  emit(ctx, tx, {
    topic: QUOTA_COMMANDS,
    key: data.user,
    type: quotaEventTypes.resizeRequested,
    schema: resizeRequested,
    data,
  });

export const askAddresses = (ctx: ProvisioningContext, tx: Tx, data: z.input<typeof allocateRequested>) =>
  emit(ctx, tx, {
    topic: IPAM_COMMANDS,
    key: data.pool,
    type: ipamEventTypes.allocateRequested,
    schema: allocateRequested,
    data,
  });

/** Releases what an allocation request holds, or some addresses of a pool. */
export const releaseAddresses = (
  ctx: ProvisioningContext,
  tx: Tx,
  key: string,
  data: { allocationRequestId: string } | { pool: string; ips: string[] },
) =>
  emit(ctx, tx, {
    topic: IPAM_COMMANDS,
    key: key || 'release',
    type: ipamEventTypes.releaseRequested,
    schema: addressRelease,
    data,
  });
