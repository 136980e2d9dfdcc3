/** The last batch stored of a node's agent: (epoch, seq) in the order the agent made them. */
export interface IngestCursor {
  node: string;
  epoch: number;
  seq: number;
}

/**
 * Whether a batch comes after what the node's cursor holds. An agent numbers its batches 1, 2, 3…
 * within its lifetime (`epoch`, its start time), and the broker keeps a node's batches in order,
 * so anything at or before the cursor was stored already (a redelivery, a producer's retry).
 */
export function isNew(cursor: IngestCursor | undefined, epoch: number, seq: number): boolean {
  if (!cursor) return true;
  return epoch > cursor.epoch || (epoch === cursor.epoch && seq > cursor.seq);
}
