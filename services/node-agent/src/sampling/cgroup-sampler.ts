import type { Logger } from 'pino';
import type { CgroupDriver } from '../cgroup/container-paths';
import type { ContainerCounters, CounterReader } from '../cgroup/counters';
import { CounterFileGoneError } from '../cgroup/kept-open-file';
import type { CgroupLayout, CgroupRoots } from '../cgroup/layout';
import { CgroupNotFoundError, openContainerCounters } from '../cgroup/open-container';
import { CounterFormatError } from '../cgroup/parse';
import type { ContainerSample } from '../wire/sample-batch';
import type { Sampler, SamplerHooks } from './sampler';
import type { Tracked } from './tracked-containers';

interface OpenCounters {
  generation: number;
  reader: CounterReader;
  lastCpuUsec: number;
}

/**
 * Samples from the node's cgroup files: each container's files are opened once per generation
 * and re-read every interval, synchronously (microseconds each). A read that fails (the cgroup
 * was removed: the container stopped or restarted) or a CPU counter that went back starts a new
 * generation: the files are opened again from the container's pid, or, when that fails, Docker
 * is asked whether the container still runs.
 */
export function createCgroupSampler(opts: {
  layout: Exclude<CgroupLayout, { version: 'none' }>;
  roots: CgroupRoots;
  /** The daemon's cgroup driver (Docker info), for the computed path. */
  driver: () => CgroupDriver;
  /** Cgroup parents to try for the computed path after the container's own ('' = Docker's default). */
  cgroupParents: string[];
  hooks: SamplerHooks & {
    /**
     * The container runs but its cgroup is nowhere under the cgroup root; `othersFound` tells
     * whether any container's cgroup was found here before (then the host does hold the
     * daemon's containers, and this one is an anomaly, not a daemon in a VM).
     */
    notFound(t: Tracked, err: CgroupNotFoundError, othersFound: boolean): void;
  };
  logger: Logger;
}): Sampler {
  const { hooks } = opts;
  const log = opts.logger.child({ component: 'cgroup-sampler' });
  const open = new Map<string, OpenCounters>();
  /** Containers whose files are in an unknown format: said once each. */
  const malformed = new Set<string>();
  let foundAny = false;

  const openFor = (t: Tracked): OpenCounters | undefined => {
    const c = t.container;
    try {
      const { reader } = openContainerCounters(opts.layout, opts.roots, opts.driver(), {
        id: c.id,
        pid: c.pid,
        cgroupParents: [...new Set([c.cgroupParent, ...opts.cgroupParents, ''])],
        hostNetwork: c.hostNetwork,
      });
      const o = { generation: t.generation, reader, lastCpuUsec: -1 };
      open.set(c.id, o);
      foundAny = true;
      return o;
    } catch (err) {
      if (err instanceof CgroupNotFoundError) hooks.notFound(t, err, foundAny);
      else log.warn({ err, container: c.ref }, 'opening the cgroup files failed');
      return undefined;
    }
  };

  const readOf = (t: Tracked, o: OpenCounters): ContainerCounters | undefined => {
    try {
      const counters = o.reader.read();
      return counters.cpuUsec >= o.lastCpuUsec ? counters : undefined;
    } catch (err) {
      if (err instanceof CounterFormatError && !malformed.has(t.container.id)) {
        malformed.add(t.container.id);
        log.warn({ err, container: t.container.ref }, 'a counter file is not in the kernel format');
      } else if (!(err instanceof CounterFileGoneError) && !(err instanceof CounterFormatError)) throw err;
      return undefined;
    }
  };

  const drop = (id: string) => {
    open.get(id)?.reader.close();
    open.delete(id);
  };

  return {
    source: opts.layout.version === 2 ? 'cgroup-v2' : 'cgroup-v1',
    sample(containers, t0) {
      const out: ContainerSample[] = [];
      for (const t of containers) {
        const id = t.container.id;
        let o = open.get(id);
        if (o && o.generation !== t.generation) {
          drop(id);
          o = undefined;
        }
        o ??= openFor(t);
        if (!o) continue;
        let counters = readOf(t, o);
        if (!counters) {
          // Gone or gone back: whatever these files are now, they are not the counters we had.
          drop(id);
          hooks.renew(t);
          o = openFor(t);
          counters = o ? readOf(t, o) : undefined;
          if (!o || !counters) {
            hooks.recheck(id);
            continue;
          }
        }
        o.lastCpuUsec = counters.cpuUsec;
        out.push({ ref: t.container.ref, offsetMs: hooks.now() - t0, generation: t.generation, ...counters });
      }
      return out;
    },
    forget(id) {
      drop(id);
      malformed.delete(id);
    },
    close() {
      for (const id of [...open.keys()]) drop(id);
    },
  };
}
