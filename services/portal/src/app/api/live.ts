import { ApiProblem, apiUrl, bearer } from './client';
import type { GoneEvent, LiveSample, SamplesEvent } from './types';

export interface LiveHandlers {
  snapshot(items: LiveSample[]): void;
  samples(e: SamplesEvent): void;
  gone(e: GoneEvent): void;
  /** connecting, open, or retrying after a failure (with what failed). */
  status(state: 'connecting' | 'open' | 'retrying', detail?: string): void;
  /** The token was refused (401): the session is over. */
  unauthorized?(problem: ApiProblem): void;
}

/**
 * The stats service's live stream (`GET /v1/stats/live`, Server-Sent Events) read with fetch, so
 * the token goes in the Authorization header rather than the URL. Reconnects by itself with a
 * growing pause (1 s to 15 s); each reconnection starts with a fresh snapshot.
 */
export function openLiveStream(handlers: LiveHandlers, opts: { node?: string } = {}): { close(): void } {
  let closed = false;
  let abort = new AbortController();
  let pause = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const dispatch = (event: string, data: string) => {
    if (!data) return;
    const parsed = JSON.parse(data) as unknown;
    if (event === 'snapshot') handlers.snapshot((parsed as { items: LiveSample[] }).items);
    else if (event === 'samples') handlers.samples(parsed as SamplesEvent);
    else if (event === 'gone') handlers.gone(parsed as GoneEvent);
  };

  const connect = async () => {
    if (closed) return;
    handlers.status('connecting');
    abort = new AbortController();
    try {
      const token = bearer();
      const res = await fetch(
        apiUrl(`/v1/stats/live${opts.node ? `?node=${encodeURIComponent(opts.node)}` : ''}`),
        {
          headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          signal: abort.signal,
          cache: 'no-store',
        },
      );
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
        const problem = new ApiProblem(res.status, body);
        if (res.status === 401) {
          handlers.unauthorized?.(problem);
          closed = true;
          return;
        }
        throw problem;
      }
      handlers.status('open');
      pause = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let event = 'message';
      let data: string[] = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            dispatch(event, data.join('\n'));
            event = 'message';
            data = [];
          } else if (line.startsWith(':')) {
            // keep-alive comment
          } else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event = val;
            else if (field === 'data') data.push(val);
          }
        }
      }
      throw new Error('the stream ended');
    } catch (err) {
      if (closed) return;
      const detail =
        err instanceof ApiProblem
          ? `${err.title}${err.detail ? `: ${err.detail}` : ''}`
          : (err as Error).message;
      handlers.status('retrying', detail);
      timer = setTimeout(() => void connect(), pause);
      pause = Math.min(15_000, pause * 2);
    }
  };
  void connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      abort.abort();
    },
  };
}
