/** Decides whether this replica runs the leader-only work (janitors, reconcilers, schedulers). */
export interface LeaderElector {
  isLeader(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A process that runs alone (the embedded default, a single replica) always leads. */
export function alwaysLeader(): LeaderElector {
  return { isLeader: () => true, start: async () => {}, stop: async () => {} };
}
