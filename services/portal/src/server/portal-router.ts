import fs from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, type Response, type Router } from 'express';
import { contentSecurityPolicy } from './content-security-policy';
import type { PortalConfig } from './portal-config-types';

export interface PortalRouterOptions {
  /** The built portal: index.html and assets/ (npm run build:portal). */
  distDir: string;
  config: PortalConfig;
}

/** Paths that are never the portal's client routes: the API and the hosts' own endpoints. */
const NOT_CLIENT_ROUTES = /^\/(v1(\/|$)|docs(\/|$)|openapi\.json$|healthz$|readyz$|metrics$)/;

/**
 * Serves the built portal: hashed assets cached for good, index.html for every client route (the
 * SPA fallback, never cached), `/portal-config.json` saying how to sign in, and on every answer a
 * strict Content-Security-Policy. Mounted after the API, so it only sees what the API left.
 */
export function portalRouter(opts: PortalRouterOptions): Router {
  const router = express.Router();
  const csp = contentSecurityPolicy(opts.config);
  const indexFile = path.join(opts.distDir, 'index.html');
  const configBody = JSON.stringify(opts.config);

  const portalHeaders = (res: Response) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
  };

  router.get('/portal-config.json', (_req, res) => {
    portalHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(configBody);
  });

  router.use(
    '/assets',
    express.static(path.join(opts.distDir, 'assets'), {
      index: false,
      fallthrough: true,
      immutable: true,
      maxAge: '365d',
      setHeaders: portalHeaders,
    }),
  );
  router.use(
    express.static(opts.distDir, {
      index: false,
      fallthrough: true,
      setHeaders: (res) => {
        portalHeaders(res);
        res.setHeader('Cache-Control', 'no-cache');
      },
    }),
  );

  const spa: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (NOT_CLIENT_ROUTES.test(req.path) || path.extname(req.path) !== '') return next();
    if (!req.accepts('html')) return next();
    portalHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    if (!fs.existsSync(indexFile)) {
      res
        .status(503)
        .type('text/plain')
        .send(`The portal is not built (${indexFile} is missing): run \`npm run build:portal\`.\n`);
      return;
    }
    res.sendFile(indexFile);
  };
  router.use(spa);
  return router;
}
