/**
 * Calls `onTick(k)` at `epoch + k × intervalMs` for k = 0, 1, 2…: each delay is computed from
 * the epoch, so late timers never add up to drift. A tick that comes so late that the next
 * one is already due (the event loop was blocked) skips the ticks it missed instead of firing
 * them in a burst.
 */
export function startTicker(opts: {
  epoch: number;
  intervalMs: number;
  now: () => number;
  onTick: (k: number) => void;
}): { stop(): void } {
  let k = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    const now = opts.now();
    const due = Math.floor((now - opts.epoch) / opts.intervalMs);
    if (due > k) k = due; // behind: go on from the newest tick that is due
    timer = setTimeout(fire, Math.max(0, opts.epoch + k * opts.intervalMs - now));
  };
  const fire = () => {
    if (stopped) return;
    const tick = k++;
    try {
      opts.onTick(tick);
    } finally {
      schedule();
    }
  };
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
