import { useEffect, useRef, useState } from 'preact/hooks';
import type { Reservation } from '../api/types';
import { clock, day, when } from '../format';
import { isFree, span, type Booked, type Slot, type View } from '../calendar/calendar-model';

interface GridProps {
  view: View;
  slots: Slot[];
  nodes: string[];
  booked: Booked[];
  mine: Map<string, Reservation>;
  me: string;
  seesAll: boolean;
  now: number;
  inTheWay: string | null;
  onFree: (node: string, slot: Slot) => void;
  onBooked: (b: Booked) => void;
}

/** Nodes against time as a CSS grid; the free slots are one keyboard stop moved with the arrow keys. */
export function CalendarGrid({
  view,
  slots,
  nodes,
  booked,
  mine,
  me,
  seesAll,
  now,
  inTheWay,
  onFree,
  onBooked,
}: GridProps) {
  const [active, setActive] = useState<{ node: number; slot: number }>({ node: 0, slot: 0 });
  const grid = useRef<HTMLDivElement>(null);
  const narrow = () => matchMedia('(max-width: 700px)').matches;
  useEffect(() => {
    // Start on the first free slot of the first node.
    const first = slots.findIndex((sl) => isFree(sl, nodes[0] ?? '', booked, now));
    setActive({ node: 0, slot: Math.max(0, first) });
  }, [view, slots[0]?.start, nodes.join(',')]);

  const onKey = (e: KeyboardEvent) => {
    // Where focus is now (not the state, which a focus just before may not have updated yet).
    const cell = (e.target as HTMLElement).closest<HTMLElement>('[data-cell]')?.dataset.cell;
    if (!cell) return;
    const [node, slot] = cell.split('-').map(Number) as [number, number];
    const keys: Record<string, [number, number]> = narrow()
      ? { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] }
      : { ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], ArrowUp: [-1, 0] };
    let move = keys[e.key];
    if (e.key === 'Home') move = [0, -slot];
    if (e.key === 'End') move = [0, slots.length - 1 - slot];
    if (!move) return;
    e.preventDefault();
    const next = {
      node: Math.min(nodes.length - 1, Math.max(0, node + move[0])),
      slot: Math.min(slots.length - 1, Math.max(0, slot + move[1])),
    };
    // Every cell is in the page already: focus moves at once, the roving tabindex follows.
    grid.current?.querySelector<HTMLElement>(`[data-cell="${next.node}-${next.slot}"]`)?.focus();
    setActive(next);
  };

  return (
    <div
      ref={grid}
      class={`cal cal-${view}`}
      role="grid"
      aria-label={`Nodes against time (${view}); arrow keys move between slots`}
      aria-rowcount={nodes.length + 1}
      aria-colcount={slots.length + 1}
      style={{ '--slots': slots.length, '--nodes': nodes.length }}
      onKeyDown={onKey}
    >
      <div class="cal-corner" style={{ '--r': 1, '--c0': 1 }} aria-hidden="true" />
      {slots.map((sl) => (
        <div
          key={`h${sl.index}`}
          class={`cal-time${view === 'week' && sl.index % 4 === 0 ? ' cal-daystart' : ''}`}
          style={{ '--r': 1, '--c0': sl.index + 2 }}
          aria-hidden="true"
        >
          {sl.label}
        </div>
      ))}
      {nodes.map((node, ni) => (
        <div key={node} role="row" class="cal-row" aria-rowindex={ni + 2}>
          <div class="cal-node" role="rowheader" style={{ '--r': ni + 2, '--c0': 1 }}>
            {node}
          </div>
          {slots.map((sl) => {
            const free = isFree(sl, node, booked, now);
            const isActive = active.node === ni && active.slot === sl.index;
            const text = `${node}, ${day(sl.start)} ${clock(sl.start)}–${clock(sl.end)}`;
            return (
              <div
                key={sl.index}
                role="gridcell"
                class="cal-slot-wrap"
                style={{ '--r': ni + 2, '--c0': sl.index + 2 }}
              >
                <button
                  type="button"
                  class={`cal-slot${free ? ' free' : sl.end <= now ? ' past' : ' taken'}`}
                  data-cell={`${ni}-${sl.index}`}
                  tabIndex={isActive ? 0 : -1}
                  aria-disabled={free ? undefined : 'true'}
                  aria-label={free ? `Book ${text}` : `${text}: ${sl.end <= now ? 'past' : 'booked'}`}
                  onFocus={() => setActive({ node: ni, slot: sl.index })}
                  onClick={() => free && onFree(node, sl)}
                />
              </div>
            );
          })}
          {booked
            .filter((b) => b.node === node)
            .map((b) => {
              const range = span(slots, b);
              if (!range) return null;
              const r = mine.get(b.reservationId);
              const who = r ? (r.user === me ? 'You' : seesAll ? r.user : 'Booked') : 'Booked';
              const text = `${who}: ${clock(b.start)}–${clock(b.end)}`;
              return (
                <div
                  key={b.reservationId}
                  role="gridcell"
                  class="cal-bar-wrap"
                  style={{ '--r': ni + 2, '--c0': range[0] + 2, '--c1': range[1] + 2 }}
                >
                  <button
                    type="button"
                    class={`cal-bar${r ? ' mine' : ' others'}${inTheWay === b.reservationId ? ' in-the-way' : ''}`}
                    data-reservation={b.reservationId}
                    title={`${node}: ${when(b.start)} – ${when(b.end)}`}
                    onClick={() => onBooked(b)}
                  >
                    <span class="cal-bar-text">{text}</span>
                    <span class="visually-hidden">
                      {`, ${node} ${r ? (r.user === me ? 'reserved by you' : `reserved by ${r.user}`) : 'booked by another user'} from ${when(b.start)} to ${when(b.end)}${inTheWay === b.reservationId ? ', in the way of your booking' : ''}`}
                    </span>
                  </button>
                </div>
              );
            })}
        </div>
      ))}
    </div>
  );
}
