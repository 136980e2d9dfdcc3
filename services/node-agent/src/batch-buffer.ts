/** A sample batch as encoded for the wire, waiting for the broker. */
export interface EncodedBatch {
  seq: number;
  value: Buffer;
  /** Container samples in it (for the bytes-per-sample figures). */
  samples: number;
}

/**
 * The batches the broker has not taken yet, oldest first. `capacity` batches wait at most; a
 * new one beyond that drops the oldest waiting one (counted), so a long broker outage costs the
 * oldest intervals and never the agent's memory. The batches of the send in flight are the
 * sender's until it ends: taken back in front when it fails, so the order never changes.
 */
export class BatchBuffer {
  private waiting: EncodedBatch[] = [];
  private inFlight: EncodedBatch[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('buffer capacity must be >= 1');
  }

  /** Adds a batch; returns how many of the oldest were dropped to make room. */
  push(batch: EncodedBatch): number {
    this.waiting.push(batch);
    return this.trim();
  }

  /** Hands the oldest `max` waiting batches to the sender. */
  take(max: number): EncodedBatch[] {
    if (this.inFlight.length > 0) throw new Error('a send is already in flight');
    this.inFlight = this.waiting.splice(0, max);
    return this.inFlight;
  }

  /** The broker took what was in flight. */
  sent(): void {
    this.inFlight = [];
  }

  /** The send failed: its batches wait again, in front; returns how many were dropped. */
  failed(): number {
    this.waiting.unshift(...this.inFlight);
    this.inFlight = [];
    return this.trim();
  }

  private trim(): number {
    const over = this.waiting.length - this.capacity;
    if (over <= 0) return 0;
    this.waiting.splice(0, over);
    return over;
  }

  /** Batches not yet taken by the broker, in flight included. */
  get depth(): number {
    return this.waiting.length + this.inFlight.length;
  }
}
