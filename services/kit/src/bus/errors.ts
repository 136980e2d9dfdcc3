/**
 * Whether a retry can help travels with the error, as KafkaJS does with `retriable` on its own
 * errors: the bus retries retriable errors with backoff and dead-letters the rest at once.
 */
export class NonRetriableError extends Error {
  override readonly name: string = 'NonRetriableError';
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Marks any error (or value) non-retriable without changing its class. */
export function nonRetriable<E>(err: E): E {
  if (err instanceof Error) {
    Object.defineProperty(err, 'retriable', { value: false, enumerable: false, configurable: true });
    return err;
  }
  return new NonRetriableError(String(err)) as unknown as E;
}

/** Unknown errors are retriable: a transient fault is likelier than a bug, and retries are bounded. */
export function isRetriable(err: unknown): boolean {
  if (err && typeof err === 'object' && 'retriable' in err)
    return (err as { retriable: unknown }).retriable !== false;
  return true;
}

/** The bus was stopped while an event was in flight: the event stays unacknowledged and comes again. */
export class BusStoppedError extends Error {
  override readonly name = 'BusStoppedError';
  constructor() {
    super('bus stopped while an event was in flight');
  }
}
