/** Figures as a person reads them. */

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(digits)} ${units[i]}`;
}

export function rate(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : `${bytes(n)}/s`;
}

export function percent(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(digits)} %`;
}

export function cpuMillis(m: number): string {
  return m % 1000 === 0 ? `${m / 1000} CPU` : `${(m / 1000).toFixed(2).replace(/0$/, '')} CPU`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const timeSeconds = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
const shortDayLabel = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric' });

export const when = (iso: string | number | Date | null | undefined): string =>
  iso === null || iso === undefined ? '–' : dateTime.format(new Date(iso));
export const clock = (t: number | Date): string => timeOnly.format(t);
export const clockSeconds = (t: number | Date): string => timeSeconds.format(t);
export const day = (t: number | Date): string => dayLabel.format(t);
export const shortDay = (t: number | Date): string => shortDayLabel.format(t);

export function ago(iso: string | null): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** `datetime-local` input value (local time) of an instant, and back. */
export function toLocalInput(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function fromLocalInput(v: string): number {
  return new Date(v).getTime();
}
