import type { Logger } from '../log/logger';
import type { LeaderElector } from './leader';

export interface PeriodicTask {
  name: string;
  intervalMs: number;
  /** Each run gets this long before the next tick treats it as stuck and logs it. */
  run(): Promise<void>;
  /**
   * Called at each tick while this replica does not lead: lets go of what the task holds open
   * between runs (streams, watches), so that a replica that lost its lease stops acting on it.
   */
  whenNotLeader?(): void;
}

/**
 * Runs leader-only tasks on their period; a run never overlaps the previous one of the same
 * task, and a failing run is logged and retried at the next tick.
 */
export function startPeriodicTasks(
  tasks: PeriodicTask[],
  leader: LeaderElector,
  logger: Logger,
): () => Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  const running = new Map<string, Promise<void>>();
  for (const task of tasks) {
    const tick = () => {
      if (!leader.isLeader()) {
        try {
          task.whenNotLeader?.();
        } catch (err) {
          logger.error({ err, task: task.name }, 'periodic task failed to stand down');
        }
        return;
      }
      if (running.has(task.name)) return;
      const run = task
        .run()
        .catch((err: unknown) => logger.error({ err, task: task.name }, 'periodic task failed'))
        .finally(() => running.delete(task.name));
      running.set(task.name, run);
    };
    timers.push(setInterval(tick, task.intervalMs));
  }
  return async () => {
    for (const timer of timers) clearInterval(timer);
    await Promise.allSettled(running.values());
  };
}
