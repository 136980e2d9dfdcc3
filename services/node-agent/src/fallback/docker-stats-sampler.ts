import type { Logger } from 'pino';
import { mapLimit } from '../concurrency';
import { isNotFound, withDeadline } from '../docker/deadline';
import type { NodeDockerApi } from '../docker/docker-api';
import type { Sampler, SamplerHooks } from '../sampling/sampler';
import type { ContainerSample } from '../wire/sample-batch';
import { countersOfDockerStats } from './docker-stats-counters';

/** Stats requests in flight at once: the daemon answers each in about a second. */
const PARALLEL = 8;

/**
 * The fallback for a daemon whose containers' cgroups are not on this host (Docker in a VM, as
 * on a laptop): Docker's one-shot stats per container per interval, the only use of that
 * endpoint. It costs a request and about 1.8 kB of JSON per container, against a few bytes of
 * cgroup files, so it is for the embedded default's local node, never a real testbed node.
 */
export function createDockerStatsSampler(opts: {
  docker: NodeDockerApi;
  /** Deadline of one stats call: at most the interval, so an interval never waits on the last one. */
  timeoutMs: number;
  hooks: SamplerHooks;
  logger: Logger;
}): Sampler {
  const { hooks } = opts;
  const log = opts.logger.child({ component: 'docker-stats-sampler' });
  const last = new Map<string, { generation: number; cpuUsec: number }>();
  let failing = false;

  return {
    source: 'docker-stats',
    async sample(containers, t0) {
      const read = await mapLimit(containers, PARALLEL, async (t): Promise<ContainerSample | undefined> => {
        const c = t.container;
        try {
          const answer = await withDeadline(`stats ${c.ref}`, opts.timeoutMs, (signal) =>
            opts.docker.oneShotStats(c.id, signal),
          );
          const counters = countersOfDockerStats(answer, c);
          const prev = last.get(c.id);
          if (prev && prev.generation === t.generation && counters.cpuUsec < prev.cpuUsec) hooks.renew(t);
          last.set(c.id, { generation: t.generation, cpuUsec: counters.cpuUsec });
          failing = false;
          return { ref: c.ref, offsetMs: hooks.now() - t0, generation: t.generation, ...counters };
        } catch (err) {
          if (isNotFound(err)) hooks.recheck(c.id);
          else if (!failing) {
            failing = true;
            log.warn(
              { err, container: c.ref },
              'Docker stats failed; the container is left out of this interval',
            );
          }
          return undefined;
        }
      });
      return read.filter((s): s is ContainerSample => s !== undefined);
    },
    forget(id) {
      last.delete(id);
    },
    close() {
      last.clear();
    },
  };
}
