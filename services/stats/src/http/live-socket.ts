import { WebSocketServer, type WebSocket } from 'ws';
import type { UpgradeRoute } from '@testbed/kit';
import type { LiveHub, LiveSink } from '../live/live-hub';

const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** What a browser client offers beside `bearer.<token>`, so that the server can answer a subprotocol. */
export const LIVE_SUBPROTOCOL = 'testbed.live.v1';

function socketSink(ws: WebSocket): LiveSink {
  return {
    send(type, data) {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        ws.terminate();
        return;
      }
      ws.send(JSON.stringify({ type, ...data }));
    },
    close: () => ws.close(1001, 'server going away'),
  };
}

/** The live stream as a WebSocket at the same path as the event stream. */
export function liveSocket(hub: LiveHub): { route: UpgradeRoute; close(): void } {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    // Never echo the token back as the chosen subprotocol.
    handleProtocols: (protocols) => [...protocols].find((p) => !p.startsWith('bearer.')) ?? false,
  });
  return {
    route: {
      path: '/v1/stats/live',
      handle(req, socket, head, principal) {
        const node = new URL(req.url ?? '/', 'http://live.invalid').searchParams.get('node') ?? undefined;
        wss.handleUpgrade(req, socket, head, (ws) => {
          const unsubscribe = hub.subscribe(principal, node || undefined, socketSink(ws), 'websocket');
          ws.on('close', unsubscribe);
          ws.on('error', () => ws.terminate());
          // The stream is one way: anything a client sends is ignored.
          ws.on('message', () => undefined);
        });
      },
    },
    close: () => {
      for (const ws of wss.clients) ws.close(1001, 'server going away');
      wss.close();
    },
  };
}
