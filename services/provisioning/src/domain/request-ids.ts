/**
 * The request ids provisioning puts on its commands to quota and ipam, and reads back from their
 * answers to find the operation (and, for admissions, the node) an answer belongs to.
 */
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** One admission per node of a create saga. */
export const admissionId = (operationId: string, node: string) => `prov:${operationId}:${node}`;
/** The one allocation of a create saga. */
export const allocationId = (operationId: string) => `prov:${operationId}`;
/** The address of an interface attach or move. */
export const interfaceRequestId = (operationId: string) => `prov-if:${operationId}`;
/** quota's decision on a live resize; `:undo` puts back the size a failed update left. */
export const resizeRequestId = (operationId: string, undo = false) =>
  `prov-up:${operationId}${undo ? ':undo' : ''}`;

const match = (re: RegExp, value: unknown) => (typeof value === 'string' ? re.exec(value) : null);

export function parseAdmissionId(requestId: unknown): { operationId: string; node: string } | undefined {
  const m = match(new RegExp(`^prov:(${UUID}):(.+)$`), requestId);
  return m ? { operationId: m[1]!, node: m[2]! } : undefined;
}

export function parseAllocationId(requestId: unknown): string | undefined {
  return match(new RegExp(`^prov:(${UUID})$`), requestId)?.[1];
}

export function parseInterfaceRequestId(requestId: unknown): string | undefined {
  return match(new RegExp(`^prov-if:(${UUID})$`), requestId)?.[1];
}

export function parseResizeRequestId(requestId: unknown): string | undefined {
  return match(new RegExp(`^prov-up:(${UUID})$`), requestId)?.[1];
}

const RECORD_ID = new RegExp(`^${UUID}$`, 'i');

/**
 * Whether a label's value can name a record. Labels on a daemon are anyone's to write, and the
 * database refuses a non-UUID id with an error (one such label failed every reconcile pass).
 */
export const isRecordId = (value: string) => RECORD_ID.test(value);
