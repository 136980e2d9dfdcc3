export interface ReadinessCheck {
  name: string;
  /**
   * Resolves when the dependency answers (with a note worth showing, e.g. a fallback in use);
   * rejects with the reason otherwise. Must be cheap.
   */
  check(): Promise<void | string>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string; detail?: string }>;
}

/**
 * Not ready until start-up hooks finish, and again from the moment shutdown begins, so load
 * balancers stop sending before the server closes.
 */
export class Readiness {
  private state: 'starting' | 'ready' | 'stopping' = 'starting';
  private step = '';
  private readonly checks: ReadinessCheck[] = [];

  add(...checks: ReadinessCheck[]): void {
    this.checks.push(...checks);
  }
  /** What the start is waiting for now (shown while starting: 'starting: <step>'). */
  starting(step: string): void {
    this.step = step;
  }
  markReady(): void {
    if (this.state === 'starting') this.state = 'ready';
  }
  markStopping(): void {
    this.state = 'stopping';
  }

  async report(timeoutMs = 2000): Promise<ReadinessReport> {
    // The answer is known without asking the dependencies: a probe every few milliseconds while
    // a process starts would otherwise add a database round trip each to the start it waits for.
    if (this.state !== 'ready') {
      const error = this.state === 'starting' && this.step ? `starting: ${this.step}` : this.state;
      return { ready: false, checks: { lifecycle: { ok: false, error } } };
    }
    const checks: ReadinessReport['checks'] = {};
    await Promise.all(
      this.checks.map(async ({ name, check }) => {
        try {
          const detail = await withTimeout(
            check(),
            timeoutMs,
            `${name} did not answer within ${timeoutMs} ms`,
          );
          checks[name] = typeof detail === 'string' ? { ok: true, detail } : { ok: true };
        } catch (err) {
          checks[name] = { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    // Shutdown may have begun while the checks ran.
    if (this.state !== 'ready') checks.lifecycle = { ok: false, error: this.state };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
