/** A Docker call that failed or did not answer in time: what was asked, and the daemon's own words. */
export class DockerCallError extends Error {
  override readonly name = 'DockerCallError';
  constructor(
    readonly what: string,
    message: string,
    readonly statusCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${what}: ${message}`, options);
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof DockerCallError && err.statusCode === 404;
}

/**
 * Runs one Docker call with a deadline (STYLE 13): past `ms` the request is aborted through
 * its signal and the call fails with DockerCallError, so a daemon that hangs never stalls the agent.
 */
export async function withDeadline<T>(
  what: string,
  ms: number,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new DockerCallError(what, `no answer within ${ms} ms`, undefined));
    }, ms);
  });
  try {
    return await Promise.race([call(abort.signal), timeout]);
  } catch (err) {
    if (err instanceof DockerCallError) throw err;
    const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
    const message = (e?.json?.message ?? e?.message ?? String(err)).trim();
    throw new DockerCallError(what, message, e?.statusCode, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
