/**
 * KafkaJS 2.2.4 spins while idle: RequestQueue.scheduleCheckPendingRequests arms a timer with a
 * negative delay when nothing is pending and nothing is throttled, and the timer re-arms itself,
 * so every broker connection wakes the process about a thousand times a second (KafkaJS issues
 * #1556, #1604, #1704; the fix of pull request #1667, never released). Measured here: 3 % of a
 * core for an agent that needs 0.3 %. The same check is skipped when there is nothing to
 * check; pending requests and throttling keep KafkaJS's own scheduling.
 * Applied by createKafkaClient, so every service's clients have it.
 */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const PATCHED = Symbol.for('testbed.kafkajs.idle-fix');

export function fixKafkaJsIdleSpin(): void {
  const RequestQueue = require('kafkajs/src/network/requestQueue') as {
    prototype: RequestQueueInternals & { [PATCHED]?: true };
  };
  const proto = RequestQueue.prototype;
  if (proto[PATCHED]) return;
  const schedule = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
  proto[PATCHED] = true;
}
