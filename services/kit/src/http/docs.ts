import path from 'node:path';
import express, { type Express } from 'express';

/**
 * An interactive API viewer at /docs, served from the swagger-ui-dist package (no CDN: the
 * platform runs offline) with its initialiser as a file, so helmet's CSP needs no inline script.
 */
export function mountDocs(app: Express, specUrl: string): void {
  const assets = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  app.get('/docs', (_req, res) => {
    res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Testbed API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`);
  });
  app.get('/docs/init.js', (_req, res) => {
    res
      .type('application/javascript')
      .send(`window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specUrl)}, dom_id: '#swagger-ui' });`);
  });
  app.use('/docs/assets', express.static(assets, { index: false, maxAge: '1h' }));
}
