import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger';
import type { Authenticator, Principal, Role } from '../auth/principal';
import { DomainError } from './errors';
import { bearerTokenOf } from './router';

/** An HTTP upgrade (WebSocket) at one path, after the same authentication as the routes. */
export interface UpgradeRoute {
  /** The exact path, e.g. `/v1/stats/live`. */
  path: string;
  roles?: readonly Role[];
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal): void;
}

/**
 * A browser's WebSocket cannot send an Authorization header: the token may also come as
 * `?access_token=` or as the subprotocol `bearer.<token>` (the client then offers a second,
 * real subprotocol, or none).
 */
function upgradeToken(req: IncomingMessage, url: URL): string | undefined {
  const header = bearerTokenOf(req.headers.authorization);
  if (header) return header;
  const query = url.searchParams.get('access_token');
  if (query) return query;
  const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const bearer = protocols.find((p) => p.startsWith('bearer.'));
  return bearer?.slice('bearer.'.length) || undefined;
}

function refuse(socket: Duplex, status: number, reason: string, detail: string): void {
  const body = JSON.stringify({ type: 'about:blank', title: reason, status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Routes the server's upgrade requests; an unknown path or a refused token closes the socket with its status. */
export function handleUpgrades(
  server: Server,
  routes: UpgradeRoute[],
  authenticator: Authenticator,
  logger: Logger,
): void {
  if (routes.length === 0) return;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://upgrade.invalid');
    const route = routes.find((r) => r.path === url.pathname);
    if (!route) return refuse(socket, 404, 'Not Found', `no upgrade at ${url.pathname}`);
    const token = upgradeToken(req, url);
    if (!token) return refuse(socket, 401, 'Unauthorized', 'a bearer token is required');
    authenticator.verify(token).then(
      (principal) => {
        if (route.roles && !route.roles.includes(principal.role))
          return refuse(socket, 403, 'Forbidden', `role '${principal.role}' may not open ${route.path}`);
        try {
          route.handle(req, socket, head, principal);
        } catch (err) {
          logger.error({ err, path: route.path }, 'upgrade handler failed');
          socket.destroy();
        }
      },
      (err: unknown) => {
        const status = err instanceof DomainError ? err.status : 401;
        refuse(socket, status, 'Unauthorized', err instanceof Error ? err.message : 'token refused');
      },
    );
  });
}
