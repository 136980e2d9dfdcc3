import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log/logger';
import type { Authenticator } from '../auth/principal';
import { buildRouter, type RouterAudit, type RouterRateLimit } from './router';
import { buildOpenApiDocument } from './openapi';
import { notFoundHandler, problemErrorHandler, problemOf, sendProblem } from './problem';
import { httpTelemetry } from './telemetry-middleware';
import type { Readiness } from './readiness';
import type { RouteSpec } from './route';
import { mountDocs } from './docs';

export interface HttpAppOptions {
  name: string;
  version?: string;
  logger: Logger;
  metrics: Registry;
  readiness: Readiness;
  authenticator: Authenticator;
  /** Mounted at once, or later with `mountRoutes` (a host that listens before its services start). */
  routes?: RouteSpec[];
  /** Largest JSON body accepted. */
  bodyLimit?: string;
  /** Extra mounts before the 404 handler (the portal's static files, SSE streams…). */
  extraRouters?: express.Router[];
}

const requestId: RequestHandler = (req, res, next) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
  req.headers['x-request-id'] = id;
  res.setHeader('X-Request-Id', id);
  next();
};

/**
 * The Express app every host uses: security headers, request ids, a span and a duration per
 * request, JSON bodies with a size limit, health, readiness, metrics, the OpenAPI document and
 * the routes, with every error answered as an RFC 9457 problem.
 */
export interface HttpApp {
  app: Express;
  /**
   * Mounts the API: until then its paths answer 503 "starting", while health and metrics answer.
   * With `rateLimit`, mutating requests are counted per subject (it needs the database, which a
   * host opens after it listens).
   */
  mountRoutes(routes: RouteSpec[], rateLimit?: RouterRateLimit, audit?: RouterAudit): void;
}

export function createHttpApp(opts: HttpAppOptions): HttpApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [opts.metrics],
  });

  app.use(helmet());
  app.use(requestId);
  app.use(httpTelemetry(opts.name, duration));
  app.use(express.json({ limit: opts.bodyLimit ?? '1mb', type: ['application/json', 'application/*+json'] }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: opts.name });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await opts.readiness.report();
    res.status(report.ready ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(opts.metrics.contentType).send(await opts.metrics.metrics());
  });
  // The OpenAPI document is built on its first request, not while the service starts: turning
  // every route's zod schemas into JSON Schema takes tens of milliseconds that /readyz waited for.
  let api: { router: express.Router; openapi: () => object } | undefined;
  const starting: RequestHandler = (req, res, next) => {
    if (api) return next();
    res.setHeader('Retry-After', '1');
    sendProblem(res, {
      ...problemOf(503, 'starting', 'Starting', 'The service is starting; try again shortly.'),
      instance: req.originalUrl,
    });
  };
  app.get(['/openapi.json', '/v1/openapi.json'], starting, (_req, res) => {
    res.json(api?.openapi());
  });
  mountDocs(app, '/v1/openapi.json');
  app.use('/v1', starting);
  app.use((req, res, next) => (api ? api.router(req, res, next) : next()));
  for (const router of opts.extraRouters ?? []) app.use(router);
  app.use(notFoundHandler);
  app.use(problemErrorHandler(opts.logger));

  const mountRoutes = (routes: RouteSpec[], rateLimit?: RouterRateLimit, audit?: RouterAudit) => {
    let openapi: object | undefined;
    api = {
      router: buildRouter(routes, opts.authenticator, rateLimit, audit),
      openapi: () =>
        (openapi ??= buildOpenApiDocument(
          { title: `testbed ${opts.name} API`, version: opts.version ?? '1.0.0' },
          routes,
          { rateLimits: rateLimit?.limiter.limits },
        )),
    };
  };
  if (opts.routes) mountRoutes(opts.routes);
  return { app, mountRoutes };
}
