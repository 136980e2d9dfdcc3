/** The most requests one transaction serves: keeps a transaction short under any load. */
export const MAX_COMBINED = 256;

export type Outcome<R> = { ok: R } | { error: unknown };

interface Waiting<P, R> {
  pending: P;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Combines concurrent requests of one key (an address pool): while `serve` works on some, the
 * next ones wait together and are served by its following call, all at once. A request that
 * finds no call under way starts one at once, so a lone request waits for nothing. Allocations of
 * one segment are serialised by its lock anyway (across replicas too); combining them turns N
 * queued transactions of several statements each into one.
 */
export class Combiner<P, R> {
  private readonly queues = new Map<string, Waiting<P, R>[]>();

  constructor(private readonly serve: (key: string, batch: P[]) => Promise<Outcome<R>[]>) {}

  submit(key: string, pending: P): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.queues.get(key);
      if (queue) {
        queue.push({ pending, resolve, reject });
        return;
      }
      this.queues.set(key, [{ pending, resolve, reject }]);
      void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    const queue = this.queues.get(key)!;
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_COMBINED);
      try {
        const outcomes = await this.serve(
          key,
          batch.map((w) => w.pending),
        );
        outcomes.forEach((o, i) => ('ok' in o ? batch[i]!.resolve(o.ok) : batch[i]!.reject(o.error)));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.queues.delete(key);
  }
}
