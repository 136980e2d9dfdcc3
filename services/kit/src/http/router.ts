import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { DomainError, ForbiddenError, RateLimitedError, UnauthorizedError } from './errors';
import { problemOf, sendProblem } from './problem';
import { parseRequest } from './validation';
import { unstorableReason } from './storable';
import type { RouteSpec } from './route';
import type { RateLimiter } from './rate-limit';
import type { Authenticator, Principal } from '../auth/principal';
import { collectionPaths, routeActionOf, type RouteAction } from '../audit/audit-action';
import { withAuditRequest, type AuditRequest } from '../audit/audit-context';
import type { NewAuditEntry } from '../audit/audit-store';

const ANONYMOUS: Principal = { subject: 'anonymous', role: 'user' };

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

async function authenticate(
  req: Request,
  route: RouteSpec,
  authenticator: Authenticator,
): Promise<Principal> {
  if (route.roles === 'public') return ANONYMOUS;
  const fromQuery =
    route.tokenInQuery && typeof req.query.access_token === 'string' ? req.query.access_token : undefined;
  const token = bearerTokenOf(req.headers.authorization) ?? fromQuery;
  if (!token) throw new UnauthorizedError('an Authorization: Bearer <token> header is required');
  const principal = await authenticator.verify(token);
  // The subject becomes an owner in the database: one it cannot store is no identity here.
  const unstorable = unstorableReason(principal.subject);
  if (unstorable) throw new UnauthorizedError(`the token's subject ${unstorable}`);
  return principal;
}

function authorize(route: RouteSpec, principal: Principal): void {
  if (route.roles && route.roles !== 'public' && !route.roles.includes(principal.role)) {
    throw new ForbiddenError(`role '${principal.role}' may not ${route.method.toUpperCase()} ${route.path}`);
  }
}

/** The rate limiter of a router, and the service (the limiter's scope) each route belongs to. */
export interface RouterRateLimit {
  limiter: RateLimiter;
  scopeOf(route: RouteSpec): string;
}

/**
 * Where the router writes the audit entries no use case wrote in its transaction: requests
 * refused after authentication, and changes that hold no transaction of their own (a file upload).
 */
export interface RouterAudit {
  /** Never fails the request: a write that fails is logged by the writer. */
  write(entry: NewAuditEntry): Promise<void>;
  sourceOf(route: RouteSpec): string;
}

const clientFacts = (req: Request) => ({
  ...(req.ip ? { sourceIp: req.ip } : {}),
  ...(req.get('user-agent') ? { userAgent: req.get('user-agent') } : {}),
  ...(typeof req.headers['x-request-id'] === 'string' ? { requestId: req.headers['x-request-id'] } : {}),
});

function auditRequestOf(req: Request, principal: Principal, source: string, what: RouteAction): AuditRequest {
  const targetId = what.targetParam ? req.params[what.targetParam] : undefined;
  return {
    actor: principal.subject,
    role: principal.role,
    ...(principal.tokenId ? { tokenId: principal.tokenId } : {}),
    ...clientFacts(req),
    source,
    action: what.action,
    targetType: what.targetType,
    ...(typeof targetId === 'string' ? { targetId } : {}),
    recorded: false,
  };
}

/** The entry of a request the router records itself (its outcome known only here). */
function routerEntry(request: AuditRequest, status: number, reason?: string): NewAuditEntry {
  const { recorded: _recorded, ...facts } = request;
  return {
    ...facts,
    result: status === 202 ? 'accepted' : status < 400 ? 'succeeded' : status < 500 ? 'refused' : 'failed',
    status,
    ...(reason !== undefined ? { reason } : {}),
    inTransaction: false,
  };
}

/**
 * Builds an Express router from route specs: auth, the rate limit, validation, then the handler;
 * errors flow to the problem mapper. With `audit`, every authenticated change is on record.
 */
export function buildRouter(
  routes: RouteSpec[],
  authenticator: Authenticator,
  rateLimit?: RouterRateLimit,
  audit?: RouterAudit,
): Router {
  const router = express.Router();
  const collections = collectionPaths(routes);
  for (const route of routes) {
    const middleware = [];
    const audited = audit && route.method !== 'get' && route.roles !== 'public';
    const what = routeActionOf(route, collections);
    if (route.rawBody) middleware.push(express.raw({ type: () => true, limit: '512mb' }));
    middleware.push(async (req: Request, res: Response, next: NextFunction) => {
      let request: AuditRequest | undefined;
      try {
        const principal = await authenticate(req, route, authenticator);
        if (audited) request = auditRequestOf(req, principal, audit.sourceOf(route), what);
        authorize(route, principal);
        await rateLimit?.limiter.admit({ scope: rateLimit.scopeOf(route), route, principal, res });
        const { params, query, body } = parseRequest(
          { params: route.params, query: route.query, body: route.body },
          { params: req.params, query: req.query, body: route.body ? (req.body ?? {}) : req.body },
        );
        res.locals.principal = principal;
        const handle = () => route.handler({ params, query, body, principal, req, res });
        const result = await (request ? withAuditRequest(request, handle) : handle());
        if (request && !request.recorded) {
          const status = 'streamed' in result ? res.statusCode : result.status;
          await audit?.write(routerEntry(request, status)).catch(() => undefined);
        }
        if ('streamed' in result) return;
        if (result.headers) res.set(result.headers);
        if (result.body === undefined) res.status(result.status).end();
        else res.status(result.status).json(result.body);
      } catch (err) {
        // A flood of 429s is the rate limiter doing its job, not a change worth a record each.
        if (request && audit && !(err instanceof RateLimitedError)) {
          const known = err instanceof DomainError;
          await audit
            .write(routerEntry(request, known ? err.status : 500, known ? err.message : 'internal error'))
            .catch(() => undefined);
        }
        next(err);
      }
    });
    router[route.method](route.path, ...middleware);
  }
  for (const [path, allow] of allowedMethods(routes)) {
    // Registered after every route: only a method the path does not have reaches this.
    router.all(path, (req, res) => {
      res.setHeader('Allow', allow);
      if (req.method === 'OPTIONS') return void res.status(204).end();
      sendProblem(res, {
        ...problemOf(
          405,
          'method-not-allowed',
          'Method not allowed',
          `${req.method} is not a method of ${req.path}; it has ${allow}`,
        ),
        instance: req.originalUrl,
      });
    });
  }
  return router;
}

/**
 * The methods of each route path, as an `Allow` header: a known path asked with another method
 * is a 405 naming them (RFC 9110 15.5.6), not the 404 of a path that does not exist. Express
 * answers HEAD wherever there is GET.
 */
function allowedMethods(routes: RouteSpec[]): Map<string, string> {
  const byPath = new Map<string, Set<string>>();
  for (const r of routes) {
    const methods = byPath.get(r.path) ?? new Set<string>(['OPTIONS']);
    methods.add(r.method.toUpperCase());
    if (r.method === 'get') methods.add('HEAD');
    byPath.set(r.path, methods);
  }
  return new Map([...byPath].map(([path, methods]) => [path, [...methods].sort().join(', ')]));
}
