import type { DiscoveredContainer } from '../docker/discovered-container';
import type { InventoryEntry } from '../wire/heartbeat';

/** A container the agent samples, with the generation its counters belong to. */
export interface Tracked {
  container: DiscoveredContainer;
  /** Counters of one generation only ever grow; a new one starts them over (SampleBatch docs). */
  generation: number;
}

/**
 * The containers being sampled, and the generation of each. A generation is bumped whenever the
 * counters are opened anew: first sight, a start with a new pid, or a read that showed the old
 * files gone or a counter gone back. Generations outlive a stop (a container started again
 * continues from the next number) and are forgotten when Docker removes the container.
 */
export class TrackedContainers {
  private readonly live = new Map<string, Tracked>();
  private readonly generations = new Map<string, number>();
  /** Bumped on every change of what the inventory would say. */
  private changes = 0;

  private nextGeneration(id: string): number {
    const g = (this.generations.get(id) ?? 0) + 1;
    this.generations.set(id, g);
    return g;
  }

  /** A running container: new, started again (another pid: a new generation), or its details changed. */
  running(c: DiscoveredContainer): Tracked {
    const prev = this.live.get(c.id);
    if (prev && prev.container.pid === c.pid) {
      if (prev.container.name !== c.name || prev.container.image !== c.image) this.changes++;
      prev.container = c;
      return prev;
    }
    const t: Tracked = { container: c, generation: this.nextGeneration(c.id) };
    this.live.set(c.id, t);
    this.changes++;
    return t;
  }

  /** The counters must be opened anew (files gone, counter went back): what follows is a new generation. */
  renew(t: Tracked): void {
    if (this.live.get(t.container.id) === t) t.generation = this.nextGeneration(t.container.id);
  }

  /** Stopped: no longer sampled. Returns whether it was. */
  stopped(id: string): boolean {
    const had = this.live.delete(id);
    if (had) this.changes++;
    return had;
  }

  removed(id: string): boolean {
    const had = this.stopped(id);
    this.generations.delete(id);
    return had;
  }

  get(id: string): Tracked | undefined {
    return this.live.get(id);
  }

  list(): Tracked[] {
    return [...this.live.values()];
  }

  get size(): number {
    return this.live.size;
  }

  /** Changes so far: compare two readings to know whether the inventory changed between them. */
  get version(): number {
    return this.changes;
  }

  inventory(): InventoryEntry[] {
    return this.list().map(({ container: c }) => ({
      ref: c.ref,
      id: c.id,
      name: c.name,
      image: c.image,
      ...(c.platformId ? { platformId: c.platformId } : {}),
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
    }));
  }
}
