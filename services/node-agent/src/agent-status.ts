import type { SampleSource } from './wire/sample-batch';

/** What the agent says of itself: /readyz's detail, the embedded host's view. */
export interface AgentStatus {
  node: string;
  /** The agent's start (ms since 1970): the epoch of its batches. */
  epoch: number;
  /** The last batch made. */
  seq: number;
  source: SampleSource;
  /** Why the agent reads Docker's stats instead of the cgroup files, when it does. */
  sourceReason?: string;
  containers: number;
  /** Batches waiting for the broker. */
  buffered: number;
  /** Batches dropped since the start, the buffer being full. */
  dropped: number;
  /** Whether the Docker events stream is open. */
  docker: 'connected' | 'unreachable';
  /** Whether the last send reached the broker (`unknown` before the first one). */
  broker: 'connected' | 'unreachable' | 'unknown';
  /** Sampling, the daemon followed, and the broker took the last send. */
  ready: boolean;
}
