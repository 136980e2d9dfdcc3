/** The agent's pure parts: the drift-free ticker, the bounded buffer, the heartbeat slot. */
import { BatchBuffer, type EncodedBatch } from '../src/batch-buffer';
import { HeartbeatSlot } from '../src/heartbeats';
import { startTicker } from '../src/ticker';

const batch = (seq: number): EncodedBatch => ({ seq, value: Buffer.from([seq]), samples: 1 });

describe('the ticker', () => {
  // Jest's fake timers own setTimeout and Date.now: a tick's cost is the clock moved on inside
  // it, so the test is exact and no slower or faster machine changes what it sees.
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  test('ticks at epoch + k × interval whatever each tick costs, and skips the ticks a blocked loop missed', () => {
    const epoch = Date.now() + 7;
    const ticks: { k: number; at: number }[] = [];
    const ticker = startTicker({
      epoch,
      intervalMs: 40,
      now: Date.now,
      onTick: (k) => {
        ticks.push({ k, at: Date.now() });
        // A tick that takes 25 of its 40 ms (a timer re-armed by a fixed delay would drift);
        // tick 5 blocks the loop for 130 ms.
        jest.setSystemTime(Date.now() + (k === 5 ? 130 : 25));
      },
    });
    for (let i = 0; i < 100 && ticks.length < 12; i++) jest.advanceTimersToNextTimer();
    ticker.stop();
    expect(ticks).toHaveLength(12);
    for (const { k, at } of ticks) {
      const late = at - (epoch + k * 40);
      // Tick 8 was due 10 ms before the blocked loop was free: it comes at once then (the fake
      // clock's 1 ms); every other tick comes at its instant exactly, the costs did not add up.
      expect(late).toBe(k === 8 ? 11 : 0);
    }
    const ks = ticks.map((t) => t.k);
    // Tick 5 blocked past ticks 6 and 7: the next is 8, not a burst of three.
    expect(ks).toEqual([0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13]);
  });

  test('stopped, it ticks no more', () => {
    let n = 0;
    const ticker = startTicker({ epoch: Date.now(), intervalMs: 40, now: Date.now, onTick: () => n++ });
    jest.advanceTimersByTime(100);
    ticker.stop();
    const seen = n;
    jest.advanceTimersByTime(400);
    expect(seen).toBe(3);
    expect(n).toBe(seen);
  });
});

describe('the batch buffer', () => {
  test('full, it drops the oldest waiting batch and counts it', () => {
    const b = new BatchBuffer(3);
    expect([1, 2, 3].map((s) => b.push(batch(s)))).toEqual([0, 0, 0]);
    expect(b.push(batch(4))).toBe(1);
    expect(b.take(10).map((x) => x.seq)).toEqual([2, 3, 4]);
  });

  test('a failed send puts its batches back in front; drops while in flight and after keep the oldest going first', () => {
    const b = new BatchBuffer(4);
    for (let s = 1; s <= 4; s++) b.push(batch(s));
    expect(b.take(2).map((x) => x.seq)).toEqual([1, 2]);
    expect(() => b.take(1)).toThrow(/in flight/);
    for (let s = 5; s <= 7; s++) b.push(batch(s)); // 3,4,5,6,7 waiting: 3 dropped
    expect(b.depth).toBe(6);
    expect(b.failed()).toBe(2); // 1,2 back in front of 4..7: the two oldest go
    expect(b.take(10).map((x) => x.seq)).toEqual([4, 5, 6, 7]);
    b.sent();
    expect(b.depth).toBe(0);
  });
});

describe('the heartbeat slot', () => {
  const rec = (n: number) => ({ key: 'n', value: Buffer.from(String(n)) });

  test('a newer beat replaces an unsent one; an inventory rides along until a beat carrying it was sent', () => {
    const slot = new HeartbeatSlot();
    expect(slot.needsInventory(1)).toBe(true);
    slot.offer(rec(1), 1);
    expect(slot.take()?.value.toString()).toBe('1');
    expect(slot.needsInventory(1)).toBe(true); // in flight, not yet sent
    slot.offer(rec(2), 1);
    slot.failed(); // the newer beat stays the one to send
    expect(slot.take()?.value.toString()).toBe('2');
    slot.sent();
    expect(slot.needsInventory(1)).toBe(false);
    expect(slot.needsInventory(2)).toBe(true);
    expect(slot.waiting).toBe(false);
  });
});
