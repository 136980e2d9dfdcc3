import fs from 'node:fs';

/**
 * The machine's CPU time so far, busy, stolen and in all (Linux' /proc/stat first line); none
 * elsewhere. Steal is time a virtual CPU was ready to run but its host ran another guest.
 */
function cpuTimes(): { busy: number; steal: number; total: number } | undefined {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
    const v = fields.map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is counted in user already
    return { busy: total - idle, steal: v[7] ?? 0, total };
  } catch {
    return undefined;
  }
}

/**
 * Waits until the machine has been quiet (at most `busyAtMost` of its CPU busy) for `quietSeconds`
 * in a row, or `maxSeconds` passed: a benchmark must not start while the one before it is still
 * being cleaned up (dockerd removing 200 containers, a broker compacting), which weighs on a
 * small process and its baseline unequally. Answers how long it waited and the last second's load.
 */
export async function waitForQuietMachine(
  opts: { busyAtMost?: number; quietSeconds?: number; maxSeconds?: number } = {},
): Promise<{ waitedSeconds: number; busy: number; quiet: boolean }> {
  const busyAtMost = opts.busyAtMost ?? 0.2;
  const quietSeconds = opts.quietSeconds ?? 3;
  const maxSeconds = opts.maxSeconds ?? 90;
  const started = Date.now();
  let last = cpuTimes();
  if (!last) return { waitedSeconds: 0, busy: 0, quiet: true };
  let quietFor = 0;
  let busy = 1;
  while ((Date.now() - started) / 1000 < maxSeconds) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuTimes()!;
    const total = now.total - last.total;
    busy = total > 0 ? (now.busy - last.busy) / total : 0;
    last = now;
    quietFor = busy <= busyAtMost ? quietFor + 1 : 0;
    if (quietFor >= quietSeconds) return { waitedSeconds: (Date.now() - started) / 1000, busy, quiet: true };
  }
  return { waitedSeconds: (Date.now() - started) / 1000, busy, quiet: false };
}

/**
 * Starts counting the machine's CPU time; the answer's `stop()` tells what share of it the
 * machine spent busy and what share the hypervisor took (steal) since then: a benchmark's
 * figures on a shared virtual machine are read with how much of its CPU it really had.
 */
export function cpuShare(): { stop(): { busy: number; steal: number } | undefined } {
  const from = cpuTimes();
  return {
    stop() {
      const to = cpuTimes();
      if (!from || !to || to.total <= from.total) return undefined;
      const total = to.total - from.total;
      return { busy: (to.busy - from.busy) / total, steal: (to.steal - from.steal) / total };
    },
  };
}
