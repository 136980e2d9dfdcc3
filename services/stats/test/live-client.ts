/** A Server-Sent Events client over fetch (Node's fetch streams the body), for tests and benchmarks. */
export interface LiveMessage {
  event: string;
  data: unknown;
  receivedAt: number;
}

export interface LiveClient {
  messages: LiveMessage[];
  /** Waits until a message satisfies `match`, or fails after `ms`. */
  next(match: (m: LiveMessage) => boolean, ms: number): Promise<LiveMessage>;
  close(): void;
  status: number;
}

export async function openLive(url: string, token: string): Promise<LiveClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  const messages: LiveMessage[] = [];
  const waiters = new Set<() => void>();
  if (res.ok && res.body) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data) messages.push({ event, data: JSON.parse(data), receivedAt: Date.now() });
            for (const w of waiters) w();
          }
        }
      } catch {
        // aborted
      }
    })();
  }
  return {
    messages,
    status: res.status,
    async next(match, ms) {
      const deadline = Date.now() + ms;
      let seen = 0;
      for (;;) {
        for (; seen < messages.length; seen++) if (match(messages[seen]!)) return messages[seen]!;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching live message within ${ms} ms (${messages.length} seen)`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 200));
          waiters.add(() => {
            clearTimeout(t);
            resolve();
          });
        });
        waiters.clear();
      }
    },
    close: () => abort.abort(),
  };
}
