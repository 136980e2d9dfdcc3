import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { DomainError, RateLimitedError, type FieldProblem } from './errors';
import type { Logger } from '../log/logger';
import { isWriteConflict } from '../db/write-conflict';

export const PROBLEM_TYPE_BASE = 'https://testbed.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

export function problemOf(status: number, slug: string, title: string, detail?: string, ext = {}): Problem {
  return { type: PROBLEM_TYPE_BASE + slug, title, status, ...(detail ? { detail } : {}), ...ext };
}

export function sendProblem(res: import('express').Response, problem: Problem): void {
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** Maps whatever reached Express's error chain to a problem; never leaks a stack or internal message. */
export function problemErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req: Request, res, _next) => {
    const problem = toProblem(err, req, logger);
    if (res.headersSent) return;
    if (problem.status === 503) res.setHeader('Retry-After', '1');
    if (err instanceof RateLimitedError) res.setHeader('Retry-After', String(err.retryAfterSeconds));
    sendProblem(res, problem);
  };
}

function toProblem(err: unknown, req: Request, logger: Logger): Problem {
  const instance = req.originalUrl;
  if (err instanceof DomainError) {
    return { ...problemOf(err.status, err.slug, err.title, err.message, err.extensions), instance };
  }
  // Errors raised by body-parser (bad JSON, body too large) carry status and type.
  const bodyErr = err as { status?: number; type?: string; expose?: boolean };
  if (bodyErr && typeof bodyErr.status === 'number' && bodyErr.status >= 400 && bodyErr.status < 500) {
    if (bodyErr.type === 'entity.too.large') {
      return { ...problemOf(413, 'payload-too-large', 'The request body is too large'), instance };
    }
    if (bodyErr.type === 'entity.parse.failed') {
      return {
        ...problemOf(400, 'malformed-body', 'The request body is not valid JSON', undefined, {
          errors: [{ path: 'body', message: 'not valid JSON' }],
        }),
        instance,
      };
    }
    return { ...problemOf(bodyErr.status, 'bad-request', 'Bad request'), instance };
  }
  if (isOverloaded(err)) {
    logger.warn({ err, url: req.originalUrl }, 'database busy or unreachable');
    return {
      ...problemOf(
        503,
        'dependency-unavailable',
        'A dependency is unavailable',
        'The database is busy or unreachable; retry shortly.',
      ),
      instance,
    };
  }
  logger.error({ err, url: req.originalUrl, requestId: req.headers['x-request-id'] }, 'unhandled error');
  return {
    ...problemOf(500, 'internal', 'Internal error', 'The server failed; the error is logged.'),
    instance,
  };
}

/**
 * Prisma's "no connection within maxWait" (P2024), "transaction could not start or expired"
 * (P2028), "cannot reach the server" (P1001, P1017), a deadlock or write conflict a use case did
 * not retry itself (isWriteConflict) and a refused socket: load or an
 * outage, not a bug, so the caller is told to retry (503) rather than handed a 500.
 */
function isOverloaded(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    isWriteConflict(err) ||
    code === 'P2024' ||
    code === 'P2028' ||
    code === 'P1001' ||
    code === 'P1017' ||
    code === 'ECONNREFUSED'
  );
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, {
    ...problemOf(404, 'route-not-found', 'Not found', `No route for ${req.method} ${req.path}`),
    instance: req.originalUrl,
  });
};
