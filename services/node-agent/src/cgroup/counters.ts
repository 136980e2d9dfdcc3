import type { ContainerSample } from '../wire/sample-batch';

/** What one read of a container gives: a ContainerSample without the agent's bookkeeping. */
export type ContainerCounters = Omit<ContainerSample, 'ref' | 'offsetMs' | 'generation'>;

/** The open counter files of one container's cgroup (and its network namespace). */
export interface CounterReader {
  readonly source: 'cgroup-v1' | 'cgroup-v2';
  /**
   * Reads every counter now. Throws CounterFileGoneError once the cgroup was removed or the
   * process exited, CounterFormatError for content not in the kernel's format.
   */
  read(): ContainerCounters;
  /** Closes every file; idempotent. */
  close(): void;
}
