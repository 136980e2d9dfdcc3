import type { ContainerSample, SampleSource } from '../wire/sample-batch';
import type { Tracked } from './tracked-containers';

/** How one source of counters (the node's cgroups, or Docker's stats) reads the tracked containers. */
export interface Sampler {
  readonly source: SampleSource;
  /**
   * Reads every container once for the interval that began at `t` (ms). Containers that could
   * not be read are left out of this interval and followed up through the hooks.
   */
  sample(containers: Tracked[], t: number): ContainerSample[] | Promise<ContainerSample[]>;
  /** Releases what is held for a container no longer sampled (its open files). */
  forget(id: string): void;
  close(): void;
}

/** What a sampler asks of the agent when a container's counters stop making sense. */
export interface SamplerHooks {
  /** Its counters start over: a new generation from now on. */
  renew(t: Tracked): void;
  /** Ask Docker about it again (stopped? restarted with a new pid? removed?). */
  recheck(id: string): void;
  now(): number;
}
