import { CLOUDEVENTS_CONTENT_TYPE, type CloudEvent } from '@testbed/kit/src/bus/cloud-event';
import type { OutgoingRecord } from '@testbed/kit/src/bus/records/types';
import { HEARTBEAT_EVENT_TYPE, type NodeHeartbeat } from './wire/heartbeat';

/** The heartbeat as a CloudEvent 1.0 in structured JSON, keyed by node. */
export function heartbeatRecord(data: NodeHeartbeat, id: string, time: Date): OutgoingRecord {
  const event: CloudEvent<NodeHeartbeat> = {
    specversion: '1.0',
    id,
    source: `node-agent/${data.node}`,
    type: HEARTBEAT_EVENT_TYPE,
    time: time.toISOString(),
    subject: data.node,
    datacontenttype: 'application/json',
    data,
  };
  return {
    key: data.node,
    value: Buffer.from(JSON.stringify(event)),
    headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
  };
}

interface Beat {
  record: OutgoingRecord;
  /** The tracked containers' version whose inventory it carries, when it carries one. */
  inventoryVersion?: number;
}

/**
 * The one heartbeat waiting for the broker: a newer beat replaces an unsent older one (a beat
 * is the agent's state now; yesterday's is worth nothing). An inventory rides along until one
 * beat that carried it was sent, so a replaced beat never loses a change of the inventory.
 */
export class HeartbeatSlot {
  private pending: Beat | undefined;
  private inFlight: Beat | undefined;
  private sentInventoryVersion = -1;

  /** Whether the next beat must carry the inventory of `version`. */
  needsInventory(version: number): boolean {
    return (
      version !== this.sentInventoryVersion ||
      this.pending?.inventoryVersion !== undefined ||
      this.inFlight?.inventoryVersion !== undefined
    );
  }

  offer(record: OutgoingRecord, inventoryVersion?: number): void {
    this.pending = { record, ...(inventoryVersion !== undefined ? { inventoryVersion } : {}) };
  }

  take(): OutgoingRecord | undefined {
    if (!this.pending || this.inFlight) return undefined;
    this.inFlight = this.pending;
    this.pending = undefined;
    return this.inFlight.record;
  }

  sent(): void {
    if (this.inFlight?.inventoryVersion !== undefined)
      this.sentInventoryVersion = this.inFlight.inventoryVersion;
    this.inFlight = undefined;
  }

  failed(): void {
    this.pending ??= this.inFlight;
    this.inFlight = undefined;
  }

  get waiting(): boolean {
    return this.pending !== undefined || this.inFlight !== undefined;
  }
}
