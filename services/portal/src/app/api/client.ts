/**
 * The one way the portal calls the REST API: the signed-in user's bearer token, JSON in and out,
 * and every failure as a Problem (RFC 9457) a page can show: its title, detail, the fields of
 * `errors[]` and the facts a 409 carries (the address or reservation in the way).
 */

export interface FieldProblem {
  path: string;
  message: string;
}

export class ApiProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  readonly errors: FieldProblem[];
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    const title = typeof body.title === 'string' ? body.title : `HTTP ${status}`;
    const detail = typeof body.detail === 'string' ? body.detail : '';
    super(detail || title);
    this.name = 'ApiProblem';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = typeof body.type === 'string' ? body.type : 'about:blank';
    this.errors = Array.isArray(body.errors) ? (body.errors as FieldProblem[]) : [];
    this.body = body;
  }

  /** The stable slug of `type` (e.g. `reservation-overlap`). */
  get code(): string {
    return this.type.split('/').pop() ?? this.type;
  }
}

export interface ApiContext {
  base: string;
  token: () => string | null;
  /** A 401: the token expired or was refused. */
  onUnauthorized: (problem: ApiProblem) => void;
}

let context: ApiContext = { base: '', token: () => null, onUnauthorized: () => undefined };

export function configureApi(c: ApiContext): void {
  context = c;
}

export function apiUrl(path: string): string {
  return context.base.replace(/\/$/, '') + path;
}

export function bearer(): string | null {
  return context.token();
}

export interface CallOptions {
  body?: unknown;
  /** `Prefer: wait=N`: the finished operation when it ends within N seconds. */
  waitSeconds?: number;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<ApiAnswer<T>> {
  const headers = new Headers({ accept: 'application/json, application/problem+json' });
  const token = context.token();
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (opts.body !== undefined) headers.set('content-type', 'application/json');
  if (opts.waitSeconds) headers.set('prefer', `wait=${opts.waitSeconds}`);
  if (opts.idempotencyKey) headers.set('idempotency-key', opts.idempotencyKey);
  let res: Response;
  try {
    res = await fetch(apiUrl(path), {
      method,
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiProblem(0, {
      title: 'The platform did not answer',
      detail: `${method} ${path} could not reach the server (${err instanceof Error ? err.message : String(err)}). Check your connection and try again.`,
    });
  }
  const text = await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text.slice(0, 500) };
    }
  }
  if (!res.ok) {
    const problem = new ApiProblem(
      res.status,
      body && typeof body === 'object' ? (body as Record<string, unknown>) : { detail: String(body ?? '') },
    );
    if (res.status === 401) context.onUnauthorized(problem);
    throw problem;
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

export const get = async <T>(path: string, signal?: AbortSignal): Promise<T> =>
  (await call<T>('GET', path, signal ? { signal } : {})).body;

/** Every page of a list (bounded: at most `max` items). */
export async function getAll<T>(path: string, max = 2000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: { items: T[]; nextCursor: string | null } = await get(
      `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && out.length < max);
  return out;
}

/** The message of anything thrown, for a problem box. */
export function problemOf(err: unknown): ApiProblem {
  if (err instanceof ApiProblem) return err;
  return new ApiProblem(0, {
    title: 'Something went wrong in the portal',
    detail: err instanceof Error ? err.message : String(err),
  });
}

/** The field a problem's `errors[].path` names, without its part: `body.nodes.0` → `nodes`. */
export function fieldOf(path: string): string {
  const parts = path.split('.');
  const rest = parts[0] === 'body' || parts[0] === 'query' || parts[0] === 'params' ? parts.slice(1) : parts;
  return rest[0] ?? path;
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
