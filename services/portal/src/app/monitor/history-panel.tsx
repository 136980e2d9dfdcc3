import { useEffect, useRef, useState } from 'preact/hooks';
import { containerHistory } from '../api/endpoints';
import type { ContainerHistory, ContainerHistoryPoint } from '../api/types';
import { Chart, timeAxis } from '../charts/chart-setup';
import { bytes, clock, day, percent } from '../format';
import { RadioGroup } from '../ui/fields';
import { useLoad } from '../ui/hooks';
import { LoadStatus } from '../ui/load-status';

const RANGES = [
  { value: '1h', label: '1 hour', ms: 3600_000 },
  { value: '24h', label: '24 hours', ms: 24 * 3600_000 },
  { value: '7d', label: '7 days', ms: 7 * 24 * 3600_000 },
] as const;

const TIER_TEXT = { raw: 'raw samples', minute: 'per-minute figures', hour: 'hourly figures' } as const;

/** One container's CPU and memory over 1 h, 24 h or 7 days, with its limits and figures as a share of them. */
export function HistoryPanel({ containerId, name }: { containerId: string; name: string }) {
  const [range, setRange] = useState<(typeof RANGES)[number]['value']>('1h');
  const span = RANGES.find((r) => r.value === range)!.ms;
  const history = useLoad(
    () => {
      const to = Date.now();
      return containerHistory(containerId, new Date(to - span).toISOString(), new Date(to).toISOString());
    },
    [containerId, range],
    range === '1h' ? 15_000 : 60_000,
  );
  const h = history.data;
  return (
    <section class="history" aria-labelledby={`history-${containerId}`}>
      <h2 id={`history-${containerId}`}>History of {name}</h2>
      <RadioGroup
        name={`history-range-${containerId}`}
        legend="Range"
        options={RANGES.map((r) => ({ value: r.value, label: r.label }))}
        value={range}
        onValue={setRange}
      />
      <LoadStatus loaded={history} what="the history" />
      {h ? (
        <>
          <p class="muted small-text" data-testid="history-summary">
            {h.points.length} points, {TIER_TEXT[h.tier]} every {stepText(h.stepSeconds)}
            {h.cpuLimitMillis ? ` · CPU limit ${(h.cpuLimitMillis / 10).toFixed(0)} % of a core` : ''}
            {h.memoryLimitBytes ? ` · memory limit ${bytes(h.memoryLimitBytes)}` : ''}
          </p>
          {h.points.length === 0 ? (
            <p class="empty">No samples of {name} in this range.</p>
          ) : (
            <HistoryCharts h={h} span={span} />
          )}
        </>
      ) : null}
    </section>
  );
}

function stepText(s: number): string {
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

type Point = ContainerHistoryPoint;

/** What the panel shows of one figure: its line pair (average, peak), its limit and its shares of it. */
interface Figure {
  name: string;
  caption: string;
  /** The datasets' names: `${series} (average)`, `${series} (peak)`. */
  series: string;
  color: string;
  average: (p: Point) => number | null;
  peak: (p: Point) => number | null;
  /** The limit in the figure's own unit (CPU: % of a core), drawn as a dashed line; null without one. */
  limit: (h: ContainerHistory) => number | null;
  /** A value as a percentage of the limit; null without one. */
  ofLimit: (v: number, h: ContainerHistory) => number | null;
  format: (v: number | null) => string;
  axis: (v: number) => string;
}

const FIGURES: Figure[] = [
  {
    name: 'CPU',
    caption: 'CPU (100 % = one core)',
    series: 'CPU %',
    color: '#1f5fa8',
    average: (p) => p.cpuPercent,
    peak: (p) => p.cpuPercentMax,
    limit: (h) => (h.cpuLimitMillis ? h.cpuLimitMillis / 10 : null),
    ofLimit: (v, h) => (h.cpuLimitMillis ? (v * 1000) / h.cpuLimitMillis : null),
    format: (v) => percent(v),
    axis: (v) => `${v} %`,
  },
  {
    name: 'Memory',
    caption: 'Memory',
    series: 'Memory',
    color: '#2c7a3f',
    average: (p) => p.memoryBytes,
    peak: (p) => p.memoryBytesMax,
    limit: (h) => h.memoryLimitBytes || null,
    ofLimit: (v, h) => (h.memoryLimitBytes ? (v / h.memoryLimitBytes) * 100 : null),
    format: (v) => bytes(v),
    axis: (v) => bytes(v, 0),
  },
];

function summary(values: (number | null | undefined)[]): { avg: number | null; max: number | null } {
  const v = values.filter((x): x is number => typeof x === 'number');
  if (v.length === 0) return { avg: null, max: null };
  return { avg: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) };
}

/** A figure's average over the range, and its peak (the peaks' highest, else the averages' highest). */
function figureSummary(f: Figure, h: ContainerHistory): { avg: number | null; peak: number | null } {
  const avg = summary(h.points.map(f.average));
  return { avg: avg.avg, peak: summary(h.points.map(f.peak)).max ?? avg.max };
}

function HistoryCharts({ h, span }: { h: ContainerHistory; span: number }) {
  const canvases = useRef<(HTMLCanvasElement | null)[]>([]);
  const charts = useRef<Chart[]>([]);
  const fmt = span > 36 * 3600_000 ? (t: number) => `${day(t)} ${clock(t)}` : (t: number) => clock(t);
  useEffect(() => {
    const xs = h.points.map((p) => new Date(p.t).getTime());
    const min = Date.now() - span;
    const max = Date.now();
    const line = (label: string, ys: (number | null)[], color: string, dashed = false) => ({
      label,
      data: xs.map((x, i) => ({ x, y: ys[i] ?? null })),
      borderColor: color,
      backgroundColor: color,
      borderWidth: dashed ? 1 : 2,
      borderDash: dashed ? [4, 3] : [],
      pointRadius: 0,
      spanGaps: false,
    });
    const limitLine = (label: string, y: number) => ({
      label,
      data: [
        { x: min, y },
        { x: max, y },
      ],
      borderColor: '#a4243b',
      borderWidth: 1,
      borderDash: [6, 4],
      pointRadius: 0,
    });
    const datasets = (f: Figure) => {
      const limit = f.limit(h);
      return [
        line(`${f.series} (average)`, h.points.map(f.average), f.color),
        line(`${f.series} (peak)`, h.points.map(f.peak), f.color, true),
        ...(limit !== null ? [limitLine(`${f.name} limit`, limit)] : []),
      ];
    };
    const options = (f: Figure) => ({
      responsive: true,
      maintainAspectRatio: false,
      parsing: false as const,
      normalized: true,
      interaction: { mode: 'nearest' as const, intersect: false },
      scales: {
        x: timeAxis(fmt, min, max),
        y: { beginAtZero: true, ticks: { callback: (v: string | number) => f.axis(Number(v)) } },
      },
      plugins: { legend: { position: 'bottom' as const } },
    });
    charts.current.forEach((c) => c.destroy());
    charts.current = FIGURES.map(
      (f, i) =>
        new Chart(canvases.current[i]!, {
          type: 'line',
          data: { datasets: datasets(f) },
          options: options(f),
        }),
    );
    return () => charts.current.forEach((c) => c.destroy());
  }, [h]);

  const figures = FIGURES.map((f) => {
    const { avg, peak } = figureSummary(f, h);
    const share = (v: number | null) => {
      const p = v === null ? null : f.ofLimit(v, h);
      return p === null ? '–' : percent(p);
    };
    return { f, avg, peak, share };
  });
  return (
    <>
      <table class="data compact stack">
        <caption class="visually-hidden">Summary of the range</caption>
        <thead>
          <tr>
            <th scope="col">Figure</th>
            <th scope="col">Average</th>
            <th scope="col">Peak</th>
            <th scope="col">Average of its limit</th>
            <th scope="col">Peak of its limit</th>
          </tr>
        </thead>
        <tbody>
          {figures.map(({ f, avg, peak, share }) => (
            <tr key={f.name}>
              <th scope="row">{f.name}</th>
              <td data-label="Average">{f.format(avg)}</td>
              <td data-label="Peak">{f.format(peak)}</td>
              <td data-label="Average of its limit">{share(avg)}</td>
              <td data-label="Peak of its limit">{share(peak)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="chart-pair">
        {figures.map(({ f, avg, peak }, i) => (
          <figure key={f.name} class="chart-box">
            <figcaption>{f.caption}</figcaption>
            <div class="chart-canvas">
              <canvas
                ref={(el) => {
                  canvases.current[i] = el;
                }}
                role="img"
                aria-label={`${f.name} of ${h.name}: average ${f.format(avg)}, peak ${f.format(peak)}`}
              />
            </div>
          </figure>
        ))}
      </div>
    </>
  );
}
