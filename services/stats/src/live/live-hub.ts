import { actsForOthers, type Principal } from '@testbed/kit';
import type { StatsMetrics } from '../metrics';
import type { LiveEvent, LiveSample, LiveView } from './live-view';

export type Transport = 'sse' | 'websocket';

/** A live stream's sink: the transport turns each message into an SSE event or a WebSocket frame. */
export interface LiveSink {
  send(type: 'snapshot' | 'samples' | 'gone', data: object): void;
  close(): void;
}

/** Users see their own containers; operators and the service role see every one. */
export function mayWatch(principal: Principal, owner: string | undefined): boolean {
  return actsForOthers(principal) || (owner !== undefined && owner === principal.subject);
}

interface Subscriber {
  principal: Principal;
  node?: string;
  sink: LiveSink;
  transport: Transport;
}

/**
 * Fans the live view out to open streams, each seeing only what its caller may (and the node it
 * asked for): a snapshot first, then every node's batch and every container leaving.
 */
export class LiveHub {
  private readonly subscribers = new Set<Subscriber>();

  constructor(
    private readonly view: LiveView,
    private readonly metrics: StatsMetrics,
  ) {
    view.onEvent((e) => this.publish(e));
  }

  visible(principal: Principal, node?: string): LiveSample[] {
    return this.view.snapshot(node).filter((s) => mayWatch(principal, s.owner));
  }

  subscribe(
    principal: Principal,
    node: string | undefined,
    sink: LiveSink,
    transport: Transport,
  ): () => void {
    const sub: Subscriber = { principal, sink, transport, ...(node ? { node } : {}) };
    this.subscribers.add(sub);
    this.metrics.liveSubscribers.inc({ transport });
    sink.send('snapshot', { items: this.visible(principal, node) });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subscribers.delete(sub);
      this.metrics.liveSubscribers.dec({ transport });
    };
  }

  closeAll(): void {
    for (const s of [...this.subscribers]) s.sink.close();
  }

  private publish(e: LiveEvent): void {
    for (const s of this.subscribers) {
      if (s.node && s.node !== e.node) continue;
      if (e.type === 'samples') {
        const items = e.items.filter((i) => mayWatch(s.principal, i.owner));
        if (items.length > 0 || actsForOthers(s.principal))
          s.sink.send('samples', { node: e.node, t: e.t, intervalMs: e.intervalMs, items });
      } else {
        const ids = e.items.filter((i) => mayWatch(s.principal, i.owner)).map((i) => i.containerId);
        if (ids.length > 0) s.sink.send('gone', { node: e.node, containerIds: ids });
      }
    }
  }
}
