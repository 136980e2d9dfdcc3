/** One container event of Docker's `/events` stream, as the agent acts on it. */
export interface ContainerEvent {
  action: string;
  id: string;
}

/**
 * `/events` sends one JSON object per line, split across chunks anywhere. Lines that are not a
 * container event (other types, or not JSON) are skipped: the stream goes on.
 */
export function eventLineSplitter(onEvent: (e: ContainerEvent) => void): (chunk: Buffer) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('utf8');
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line) continue;
      let e: { Type?: unknown; Action?: unknown; id?: unknown; Actor?: { ID?: unknown } };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        continue;
      }
      const id = typeof e.Actor?.ID === 'string' ? e.Actor.ID : e.id;
      if (e.Type === 'container' && typeof e.Action === 'string' && typeof id === 'string')
        onEvent({ action: e.Action, id });
    }
    // A line is a few hundred bytes; a runaway one without a newline is not an event.
    if (pending.length > 1024 * 1024) pending = '';
  };
}
