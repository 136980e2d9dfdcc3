import { DomainError } from '@testbed/kit';

/** How a Docker call ended badly: the daemon said no, did not answer, or broke off. */
export type DockerFailure = 'refused' | 'unreachable' | 'timeout' | 'failed';

/** Errors of the socket: the daemon is not there to answer. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
  'ENOENT',
  // A node's TLS file that is no file (node-client.ts): no daemon can be reached with it.
  'ETLSFILE',
]);

/**
 * The problem a Docker answer is, by its meaning: the daemon's 404, 409 and 400 are ours (the
 * thing is not there, is in the way, was asked wrongly). A node whose daemon cannot be reached is
 * a state of that node (registered while off, powered down, a wrong address or TLS file): a 409
 * naming it, which the node's health also shows, and not a fault of the platform; an input such
 * as registering a node at a closed port must never yield a 5xx. Only a daemon that answers too
 * late (504) or fails in itself (502) is a dependency's fault.
 */
function problemOf(statusCode: number | undefined, failure: DockerFailure) {
  if (failure === 'timeout')
    return { status: 504, slug: 'dependency-timeout', title: 'A dependency did not answer in time' };
  if (failure === 'unreachable')
    return { status: 409, slug: 'node-unreachable', title: 'The node cannot be reached' };
  if (statusCode === 404) return { status: 404, slug: 'not-found', title: 'Not found' };
  if (statusCode === 409) return { status: 409, slug: 'conflict', title: 'Conflict' };
  if (statusCode === 400) return { status: 400, slug: 'bad-request', title: 'Bad request' };
  return { status: 502, slug: 'dependency-failed', title: 'A dependency failed' };
}

/** A failed Docker call: the node, what was asked, the daemon's own message, and what it means. */
export class DockerCallError extends DomainError {
  readonly status: number;
  readonly slug: string;
  readonly title: string;

  constructor(
    readonly node: string,
    readonly what: string,
    readonly daemonMessage: string,
    readonly statusCode: number | undefined,
    readonly failure: DockerFailure = statusCode === undefined ? 'failed' : 'refused',
  ) {
    super(`node ${node}: ${what}: ${daemonMessage}`, { node, daemonMessage });
    const p = problemOf(statusCode, failure);
    this.status = p.status;
    this.slug = p.slug;
    this.title = p.title;
  }

  static of(node: string, what: string, err: unknown): DockerCallError {
    const e = err as {
      statusCode?: number;
      json?: { message?: string } | null;
      message?: string;
      code?: string;
    } | null;
    const message = e?.json?.message ?? e?.message ?? String(err);
    // dockerode reports a streamed request's refusal as "(HTTP code 404) unexpected - <message>".
    const daemonMessage = (/^\(HTTP code \d+\)[^-]*- ([\s\S]*)$/.exec(message)?.[1] ?? message).trim();
    const unreachable =
      (e?.code !== undefined && UNREACHABLE.has(e.code)) ||
      /socket hang up|ECONNREFUSED|ECONNRESET/.test(message);
    const timedOut = e?.code === 'ETIMEDOUT' || message === 'timeout';
    const failure: DockerFailure = unreachable
      ? 'unreachable'
      : timedOut
        ? 'timeout'
        : e?.statusCode
          ? 'refused'
          : 'failed';
    return new DockerCallError(node, what, daemonMessage, e?.statusCode, failure);
  }
}

/** A Docker daemon that does not answer within `ms` fails the call with the node's name (STYLE 13). */
export async function withDeadline<T>(node: string, what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DockerCallError(node, what, `no answer within ${ms} ms`, undefined, 'timeout')),
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

export function isNotFound(err: unknown): boolean {
  return err instanceof DockerCallError
    ? err.statusCode === 404
    : (err as { statusCode?: number })?.statusCode === 404;
}

/** The daemon's own words when the error is a Docker call's, else the error's message. */
export const messageOf = (err: unknown) =>
  err instanceof DockerCallError ? err.daemonMessage : err instanceof Error ? err.message : String(err);
