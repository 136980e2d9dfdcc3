import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { AgentStatus } from './agent-status';

export interface AgentHttp {
  /** http://host:port of the listening server. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * `/healthz` (the process lives), `/readyz` (sampling, the daemon followed, the broker taking
 * records: 503 with the same detail otherwise) and `/metrics`, on plain node:http: the agent
 * stays small, and these three answers need no framework.
 */
export function startAgentHttp(opts: {
  host: string;
  port: number;
  status: () => AgentStatus;
  registry: Registry;
}): Promise<AgentHttp> {
  const send = (res: http.ServerResponse, code: number, type: string, body: string) => {
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const json = (res: http.ServerResponse, code: number, body: unknown) =>
    send(res, code, 'application/json', JSON.stringify(body));

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: 'method not allowed' });
    }
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const status = opts.status();
      return json(res, status.ready ? 200 : 503, status);
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(res, 200, opts.registry.contentType, text),
        (err: unknown) => send(res, 500, 'text/plain', String(err)),
      );
      return;
    }
    json(res, 404, { error: 'not found' });
  });
  // Probes and scrapes are tiny: a client that trickles bytes is cut off early.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      resolve({
        url: `http://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
