/**
 * Typed errors that domain code throws with the facts; the HTTP layer maps them to RFC 9457
 * problems in one place (problem.ts). Each has a stable `type` slug clients can switch on.
 */
export interface FieldProblem {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly slug: string;
  abstract readonly title: string;
  /** Extra members of the problem document, e.g. `{ conflictingAddress }`. */
  readonly extensions: Record<string, unknown>;

  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(detail);
    this.name = new.target.name;
    this.extensions = extensions;
  }
}

export class InvalidError extends DomainError {
  readonly status = 422;
  readonly slug = 'validation-failed';
  readonly title = 'The request is not valid';
  constructor(
    readonly errors: FieldProblem[],
    detail = errors.map((e) => `${e.path}: ${e.message}`).join('; '),
  ) {
    super(detail, { errors });
  }
  static field(path: string, message: string): InvalidError {
    return new InvalidError([{ path, message }]);
  }
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly slug = 'not-found';
  readonly title = 'Not found';
  constructor(what: string, id: string) {
    super(`${what} '${id}' does not exist`, { resource: what, id });
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly slug: string;
  readonly title = 'Conflict';
  constructor(detail: string, extensions: Record<string, unknown> = {}, slug = 'conflict') {
    super(detail, extensions);
    this.slug = slug;
  }
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly slug = 'unauthorized';
  readonly title = 'Authentication required';
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly slug = 'forbidden';
  readonly title = 'Forbidden';
}

/**
 * A subject made more changes than its limit allows in the current window; `retryAfterSeconds`
 * is when the window ends (the `Retry-After` header).
 */
export class RateLimitedError extends DomainError {
  readonly status = 429;
  readonly slug = 'rate-limited';
  readonly title = 'Too many requests';
  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
    extensions: Record<string, unknown> = {},
  ) {
    super(detail, { ...extensions, retryAfterSeconds });
  }
}

/** The request is malformed in a way no field schema says (a dependency refused its parameters). */
export class BadRequestError extends DomainError {
  readonly status = 400;
  readonly slug = 'bad-request';
  readonly title = 'Bad request';
}

/** A dependency (a Docker daemon, the broker) does not answer; the detail names it and its own message. */
export class UnavailableError extends DomainError {
  readonly status = 503;
  readonly slug = 'dependency-unavailable';
  readonly title = 'A dependency is unavailable';
}

/** A dependency answered with a failure of its own (a daemon's 500). */
export class DependencyFailedError extends DomainError {
  readonly status = 502;
  readonly slug = 'dependency-failed';
  readonly title = 'A dependency failed';
}

/** A dependency did not answer within its deadline. */
export class DependencyTimeoutError extends DomainError {
  readonly status = 504;
  readonly slug = 'dependency-timeout';
  readonly title = 'A dependency did not answer in time';
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  422: 'The request is not valid',
  502: 'A dependency failed',
  503: 'A dependency is unavailable',
  504: 'A dependency did not answer in time',
};

/**
 * A problem decided earlier and kept (a failed operation's error), answered later with the status
 * and `type` it was recorded with: the cause's status travels to the edge unchanged.
 */
export class RecordedProblemError extends DomainError {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  constructor(
    problem: { status: number; slug: string; detail: string },
    extensions: Record<string, unknown> = {},
  ) {
    super(problem.detail, extensions);
    this.status = problem.status >= 400 && problem.status <= 599 ? problem.status : 500;
    this.slug = problem.slug;
    this.title = TITLES[this.status] ?? 'The request failed';
  }
}
