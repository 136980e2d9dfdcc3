import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import helmet from 'helmet';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { baseConfigShape, port } from '@testbed/kit/src/config/common';
import type { Logger } from '@testbed/kit/src/log/logger';
import { portalConfigShape, standalonePortalConfig } from './portal-config';
import { portalRouter } from './portal-router';

/** The portal's own process: the shared variables it reads and its own. */
export const standalonePortalSchema = z.object({
  LOG_LEVEL: baseConfigShape.LOG_LEVEL,
  SHUTDOWN_DELAY_MS: baseConfigShape.SHUTDOWN_DELAY_MS,
  AUTH_JWKS_URL: baseConfigShape.AUTH_JWKS_URL,
  AUTH_ISSUER: baseConfigShape.AUTH_ISSUER,
  AUTH_AUDIENCE: baseConfigShape.AUTH_AUDIENCE,
  PORT: port,
  LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  ...portalConfigShape.shape,
});
export type StandalonePortalConfig = z.infer<typeof standalonePortalSchema>;

export interface RunningPortal {
  url: string;
  stop(): Promise<void>;
}

/**
 * A small static server: the built portal with its headers, `/portal-config.json` from the
 * environment, `/healthz`, `/readyz` (503 while the build is missing and once shutdown begins),
 * `/metrics`. It holds no state and talks to nothing: the browser calls the API itself.
 */
export async function startPortalServer(
  config: StandalonePortalConfig,
  logger: Logger,
): Promise<RunningPortal> {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const requests = new Counter({
    name: 'portal_http_requests_total',
    help: 'Requests the portal answered, by kind (asset, page, config, probe) and status',
    labelNames: ['kind', 'status'] as const,
    registers: [metrics],
  });
  const portalConfig = standalonePortalConfig(config);
  const indexFile = path.join(config.PORTAL_DIST_DIR, 'index.html');
  let stopping = false;

  const app = express();
  app.disable('x-powered-by');
  // The same security headers as every service (helmet); the portal's own CSP replaces helmet's on its pages.
  app.use(helmet());
  app.use((req, res, next) => {
    res.on('finish', () => {
      const kind = req.path.startsWith('/assets/')
        ? 'asset'
        : req.path === '/portal-config.json'
          ? 'config'
          : /^\/(healthz|readyz|metrics)$/.test(req.path)
            ? 'probe'
            : 'page';
      requests.inc({ kind, status: String(res.statusCode) });
    });
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: 'portal' });
  });
  app.get('/readyz', (_req, res) => {
    const built = fs.existsSync(indexFile);
    const ready = built && !stopping;
    res.status(ready ? 200 : 503).json({
      ready,
      checks: [
        { name: 'build', ok: built, ...(built ? {} : { error: `${indexFile} is missing` }) },
        { name: 'shutdown', ok: !stopping },
      ],
    });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });
  app.use(portalRouter({ distDir: config.PORTAL_DIST_DIR, config: portalConfig }));
  app.use((req, res) => {
    res
      .status(404)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: 'https://testbed.dev/problems/route-not-found',
          title: 'Not found',
          status: 404,
          detail: `No route for ${req.method} ${req.path}`,
        }),
      );
  });

  const server = http.createServer(app);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.LISTEN_HOST, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  logger.info({ port: bound, signIn: portalConfig.signIn.method }, 'portal listening');
  return {
    url: `http://127.0.0.1:${bound}`,
    async stop() {
      stopping = true;
      if (config.SHUTDOWN_DELAY_MS) await new Promise((r) => setTimeout(r, config.SHUTDOWN_DELAY_MS));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      logger.info('portal stopped');
    },
  };
}
