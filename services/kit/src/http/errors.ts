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

/** A dependency (a Docker daemon, the broker) failed; the detail names it and its own message. */
export class UnavailableError extends DomainError {
  readonly status = 503;
  readonly slug = 'dependency-unavailable';
  readonly title = 'A dependency is unavailable';
}
