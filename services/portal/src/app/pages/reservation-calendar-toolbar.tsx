import { addDays, startOfDay, type View } from '../calendar/calendar-model';
import { RadioGroup } from '../ui/fields';
import { showCalendar, type CalendarRange } from './reservation-calendar-range';

const VIEWS: { value: View; label: string }[] = [
  { value: 'day', label: 'Day' },
  { value: 'week', label: 'Week' },
];

/** Day or week, back and forth in time, and the stretch shown. */
export function CalendarToolbar({ range }: { range: CalendarRange }) {
  const { view, anchor, step, label } = range;
  return (
    <div class="cal-toolbar">
      <RadioGroup
        name="cal-view"
        legend="View"
        options={VIEWS}
        value={view}
        onValue={(v) => showCalendar(v, anchor)}
      />
      <div class="cal-nav" role="group" aria-label="Move in time">
        <button type="button" onClick={() => showCalendar(view, addDays(anchor, -step))}>
          {view === 'day' ? 'Previous day' : 'Previous week'}
        </button>
        <button type="button" onClick={() => showCalendar(view, startOfDay(Date.now()))}>
          Today
        </button>
        <button type="button" onClick={() => showCalendar(view, addDays(anchor, step))}>
          {view === 'day' ? 'Next day' : 'Next week'}
        </button>
      </div>
      <p class="cal-range" aria-live="polite">
        <strong>{label}</strong>
      </p>
    </div>
  );
}
