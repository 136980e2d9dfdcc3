import { UnavailableError } from '@testbed/kit';

/** A Docker daemon that does not answer within `ms` fails the call with the node's name (STYLE 13). */
export async function withDeadline<T>(node: string, what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DockerCallError(node, what, `no answer within ${ms} ms`, undefined)),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    if (err instanceof DockerCallError) throw err;
    throw DockerCallError.of(node, what, err);
  } finally {
    clearTimeout(timer);
  }
}

/** A failed Docker call: the node, what was asked, and the daemon's own message. */
export class DockerCallError extends UnavailableError {
  constructor(
    readonly node: string,
    readonly what: string,
    readonly daemonMessage: string,
    readonly statusCode: number | undefined,
  ) {
    super(`node ${node}: ${what}: ${daemonMessage}`, { node, daemonMessage });
  }

  static of(node: string, what: string, err: unknown): DockerCallError {
    const e = err as { statusCode?: number; json?: { message?: string }; reason?: string; message?: string };
    const message = e?.json?.message ?? e?.message ?? String(err);
    return new DockerCallError(node, what, message.trim(), e?.statusCode);
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof DockerCallError
    ? err.statusCode === 404
    : (err as { statusCode?: number })?.statusCode === 404;
}
