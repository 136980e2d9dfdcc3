import type { Logger } from '@testbed/kit';
import { allSeries, seriesId, type SeriesInfo } from '../store/series-store';
import type { SqlSession } from '../store/sql';

/**
 * Every series in memory: which container a (node, ref) of the samples is, whose, and its name.
 * The live view looks it up for every sample, so it is a map, reloaded from the database when a
 * sample names something unknown (at most every `minRefreshMs`) and every `maxAgeMs` regardless
 * (another replica may have learned an owner).
 */
export class SeriesDirectory {
  private byId = new Map<string, SeriesInfo>();
  private byPlatform = new Map<string, SeriesInfo[]>();
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  private wanted = false;

  constructor(
    private readonly sql: SqlSession,
    private readonly logger: Logger,
    private readonly opts = { minRefreshMs: 500, unownedMaxAgeMs: 2_000, maxAgeMs: 10_000 },
  ) {}

  lookup(node: string, ref: string): SeriesInfo | undefined {
    const found = this.byId.get(seriesId(node, ref));
    const age = Date.now() - this.loadedAt;
    // Not known yet, or not yet tied to its owner (the event may be on its way): look again soon.
    if (!found || (!found.owner && age > this.opts.unownedMaxAgeMs) || age > this.opts.maxAgeMs) this.want();
    return found;
  }

  /** The series of a platform container (one per node it ran on under a Docker id). */
  ofPlatformContainer(platformId: string): SeriesInfo[] {
    return this.byPlatform.get(platformId) ?? [];
  }

  /**
   * Something changed (an event, an inventory): reload shortly, once the transaction that wrote
   * it has committed.
   */
  invalidate(): void {
    this.loadedAt = 0;
    this.want(300);
  }

  async refresh(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const rows = await allSeries(this.sql);
        this.byId = new Map(rows.map((r) => [seriesId(r.node, r.ref), r]));
        const byPlatform = new Map<string, SeriesInfo[]>();
        for (const r of rows)
          if (r.platformId) byPlatform.set(r.platformId, [...(byPlatform.get(r.platformId) ?? []), r]);
        this.byPlatform = byPlatform;
        this.loadedAt = Date.now();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private want(atLeastMs = 0): void {
    if (this.wanted) return;
    this.wanted = true;
    const wait = Math.max(atLeastMs, this.loadedAt + this.opts.minRefreshMs - Date.now());
    setTimeout(() => {
      this.wanted = false;
      this.refresh().catch((err: unknown) =>
        this.logger.warn({ err }, 'could not reload the series directory; will try again'),
      );
    }, wait).unref();
  }
}
