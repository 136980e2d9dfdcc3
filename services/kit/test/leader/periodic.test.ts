/** Leader-only periodic tasks: they run only while leading, and stand down when the lease goes. */
import { createLogger } from '../../src/log/logger';
import { startPeriodicTasks } from '../../src/leader/periodic';
import type { LeaderElector } from '../../src/leader/leader';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('runs while leading, calls whenNotLeader while not, and never overlaps a run', async () => {
  let leading = true;
  const leader: LeaderElector = { isLeader: () => leading, start: async () => {}, stop: async () => {} };
  let runs = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  let stoodDown = 0;
  const stop = startPeriodicTasks(
    [
      {
        name: 'watch',
        intervalMs: 20,
        run: async () => {
          runs++;
          maxConcurrent = Math.max(maxConcurrent, ++concurrent);
          await sleep(50); // longer than the period: the next ticks must not start another run
          concurrent--;
        },
        whenNotLeader: () => stoodDown++,
      },
    ],
    leader,
    createLogger({ name: 'periodic-test', level: 'silent' }),
  );
  await sleep(300);
  expect(runs).toBeGreaterThan(1);
  expect(maxConcurrent).toBe(1);
  expect(stoodDown).toBe(0);

  leading = false;
  await sleep(100); // the run in hand ends
  const runsWhenLost = runs;
  await sleep(200);
  expect(runs).toBe(runsWhenLost);
  expect(stoodDown).toBeGreaterThan(2);
  await stop();
});
