/**
 * The newest sample of one container, as the live stream and the overview show it: the stats
 * service's answer shape, without dependencies, so the portal's browser code imports it as is.
 */
export interface LiveSample {
  t: string;
  /** The platform's container id; Docker's id for a container the platform did not make. */
  containerId: string;
  dockerId: string;
  name: string;
  node: string;
  owner?: string;
  cpuPercent: number | null;
  cpuLimitMillis?: number;
  cpuPercentOfLimit?: number;
  memoryBytes: number;
  memoryLimitBytes?: number;
  memoryPercentOfLimit?: number;
  rxBytes: number;
  txBytes: number;
  rxBytesPerSecond: number | null;
  txBytesPerSecond: number | null;
  pids: number;
}
