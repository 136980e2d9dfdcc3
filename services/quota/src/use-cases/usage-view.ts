/**
 * A user's limits against what they use: quota's answer shape, without dependencies, so the
 * portal's browser code imports these types as they are.
 */
export interface LimitUse {
  limit: number;
  /** Taken by running containers. */
  inUse: number;
  /** Promised to admissions whose containers have not started yet. */
  held: number;
  available: number;
}

export interface UsageView {
  user: string;
  containers: LimitUse;
  cpuMillis: LimitUse;
  memoryBytes: LimitUse;
  addresses: LimitUse;
  reservations: { limit: number; active: number; upcoming: number };
}
