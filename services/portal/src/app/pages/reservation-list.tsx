import type { Reservation } from '../api/types';
import { when } from '../format';
import { StateBadge } from '../ui/bits';
import { DataTable } from '../ui/data-table';

/** The reservations in the range shown (cancelled ones left out), each with a way to extend or cancel it. */
export function ReservationList({
  items,
  me,
  seesAll,
  onManage,
}: {
  items: Reservation[];
  me: string;
  seesAll: boolean;
  onManage: (r: Reservation) => void;
}) {
  const shown = items.filter((r) => r.state !== 'cancelled');
  return (
    <section aria-labelledby="mine-heading">
      <h2 id="mine-heading">{seesAll ? 'Reservations in this range' : 'Your reservations in this range'}</h2>
      {shown.length === 0 ? (
        <p class="empty">None.</p>
      ) : (
        <DataTable
          labelledBy="mine-heading"
          items={shown}
          rowKey={(r) => r.id}
          rowData={(r) => ({ 'data-reservation': r.id })}
          columns={[
            seesAll && { label: 'User', cell: (r) => (r.user === me ? `${r.user} (you)` : r.user) },
            { label: 'Nodes', cell: (r) => r.nodes.join(', ') },
            { label: 'From', cell: (r) => when(r.start) },
            { label: 'To', cell: (r) => when(r.end) },
            { label: 'State', cell: (r) => <StateBadge state={r.state} /> },
            {
              label: 'Manage',
              cell: (r) => (
                <button type="button" class="small" onClick={() => onManage(r)}>
                  Extend or cancel
                </button>
              ),
            },
          ]}
        />
      )}
    </section>
  );
}
