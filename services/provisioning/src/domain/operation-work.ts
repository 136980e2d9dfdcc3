import { z } from 'zod';

/**
 * Every kind of operation and the work data its row keeps (the `saga` column): one schema per
 * kind, so a row read back is parsed into the union the type checker knows, never cast.
 */
export const OPERATION_STATES = [
  'pending',
  'running',
  'succeeded',
  'partially_succeeded',
  'failed',
  'cancelled',
] as const;
export type OperationState = (typeof OPERATION_STATES)[number];
export const TERMINAL_STATES: readonly OperationState[] = [
  'succeeded',
  'partially_succeeded',
  'failed',
  'cancelled',
];
export const isTerminal = (state: string) => (TERMINAL_STATES as readonly string[]).includes(state);

export const plannedItem = z.object({ name: z.string(), node: z.string() });
export type PlannedItem = z.infer<typeof plannedItem>;

/** The create saga: one admission per node, one block of addresses, then the containers. */
export const createSaga = z.object({
  pool: z.string(),
  admissions: z.record(z.string(), z.enum(['pending', 'granted', 'rejected'])),
  allocation: z.enum(['pending', 'allocated', 'failed']),
  ip: z.string().optional(),
  start: z.string().optional(),
  plan: z.array(plannedItem),
  spec: z.object({
    image: z.string(),
    cpuMillis: z.number(),
    memoryBytes: z.number(),
    pidsLimit: z.number(),
    sshPublicKeys: z.array(z.string()),
    env: z.record(z.string(), z.string()).optional(),
    command: z.array(z.string()).optional(),
    /** Attach eth1 once the container runs (`secondary` of POST /v1/containers). */
    secondary: z.object({ pool: z.string().optional(), network: z.string().optional() }).optional(),
  }),
});
export type CreateSaga = z.infer<typeof createSaga>;

/** eth1's attach, move or detach: the address it gets (attach, move) and whether ipam holds it. */
export const interfaceWork = z.object({
  containerId: z.string(),
  pool: z.string().optional(),
  network: z.string().optional(),
  ip: z.string().optional(),
  allocation: z.enum(['pending', 'allocated']).optional(),
});
export type InterfaceWork = z.infer<typeof interfaceWork>;

/** A live CPU and memory change, and the size to put back when Docker refuses it. */
export const resizeWork = z.object({
  containerId: z.string(),
  cpuMillis: z.number(),
  memoryBytes: z.number(),
  previous: z.object({ cpuMillis: z.number(), memoryBytes: z.number() }),
});
export type ResizeWork = z.infer<typeof resizeWork>;

export const pullWork = z.object({ node: z.string(), image: z.string() });
export const checkUpdatesWork = z.object({ node: z.string(), dryRun: z.boolean() });
export const reservationStopWork = z.object({
  reservationId: z.string(),
  user: z.string(),
  nodes: z.array(z.string()),
});
export type ReservationStopWork = z.infer<typeof reservationStopWork>;
export const batchRemovalWork = z.object({ batchId: z.string(), createOperationId: z.string() });

export const workSchemas = {
  'container.create': createSaga,
  'batch.create': createSaga,
  'batch.remove': batchRemovalWork,
  'interface.attach': interfaceWork,
  'interface.move': interfaceWork,
  'interface.detach': interfaceWork,
  'container.update': resizeWork,
  'image.pull': pullWork,
  'image.check-updates': checkUpdatesWork,
  'reservation.stop': reservationStopWork,
} as const;

export type OperationKind = keyof typeof workSchemas;
export type WorkOf<K extends OperationKind> = z.infer<(typeof workSchemas)[K]>;
export const OPERATION_KINDS = Object.keys(workSchemas) as OperationKind[];
export const isOperationKind = (kind: string): kind is OperationKind => kind in workSchemas;

export const CREATE_KINDS = ['container.create', 'batch.create'] as const satisfies readonly OperationKind[];
export const INTERFACE_KINDS = [
  'interface.attach',
  'interface.move',
  'interface.detach',
] as const satisfies readonly OperationKind[];
export type InterfaceKind = (typeof INTERFACE_KINDS)[number];
export const IMAGE_KINDS = ['image.pull', 'image.check-updates'] as const satisfies readonly OperationKind[];
export type ImageKind = (typeof IMAGE_KINDS)[number];
/** Operations that change one container: at most one of them at a time per container. */
export const CONTAINER_CHANGE_KINDS = [...INTERFACE_KINDS, 'container.update'] as const;

/** What an operation that failed or was cancelled says: a type clients switch on, the status, the facts. */
export interface OperationError {
  type: string;
  status: number;
  detail: string;
  [fact: string]: unknown;
}

export interface OperationBase {
  id: string;
  state: OperationState;
  owner: string;
  request: unknown;
  result: unknown;
  error: OperationError | null;
  items: unknown[];
  idempotencyKey: string | null;
  cancelRequested: boolean;
  claimedBy: string | null;
  claimedAt: Date | null;
  /** W3C traceparent of the request that started it: its work joins that trace. */
  traceParent: string | null;
  createdAt: Date;
  updatedAt: Date;
}

type AnyOperation = {
  [P in OperationKind]: OperationBase & { kind: P; saga: WorkOf<P> };
}[OperationKind];

/** An operation row: its kind decides the type of its work. */
export type OperationRecord<K extends OperationKind = OperationKind> = Extract<AnyOperation, { kind: K }>;

export function isKind<K extends OperationKind>(
  op: OperationRecord,
  ...kinds: readonly K[]
): op is OperationRecord<K> {
  return (kinds as readonly string[]).includes(op.kind);
}
