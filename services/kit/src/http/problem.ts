import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { DomainError, type FieldProblem } from './errors';
import type { Logger } from '../log/logger';

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
  logger.error({ err, url: req.originalUrl, requestId: req.headers['x-request-id'] }, 'unhandled error');
  return {
    ...problemOf(500, 'internal', 'Internal error', 'The server failed; the error is logged.'),
    instance,
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, {
    ...problemOf(404, 'route-not-found', 'Not found', `No route for ${req.method} ${req.path}`),
    instance: req.originalUrl,
  });
};
